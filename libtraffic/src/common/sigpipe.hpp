#pragma once
// Writes to a socket whose peer is gone raise SIGPIPE, whose default action ends the
// process. hiredis 0.14 writes with write(2), which has no MSG_NOSIGNAL, and a library may
// not change the process's disposition behind its host's back: so each exchange blocks
// SIGPIPE in its own thread and takes back one that its writes raised (the technique of
// libpq's pq_block_sigpipe). The write itself then fails with EPIPE, which is handled like
// any other connection error.

#include <signal.h>

namespace traffic {

class SigpipeBlock {
 public:
  SigpipeBlock() noexcept {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    // A SIGPIPE already pending before us is the thread's, not ours to take.
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe, &previous_);
  }
  ~SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec now{0, 0};
        (void)sigtimedwait(&pipe, nullptr, &now);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t previous_{};
  bool was_pending_ = false;
};

}  // namespace traffic
