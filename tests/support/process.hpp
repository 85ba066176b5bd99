#pragma once
// Starts a program with arguments and extra environment, its stderr on a pipe; stops it
// with a signal and reports how it ended. For the integration tests that run trafficd.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace traffic::test {

class Process {
 public:
  Process(const std::string& program, const std::vector<std::string>& args, const std::vector<std::string>& env) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    // Not the test's stdout: if a test dies without stopping the child, ctest must not
    // wait for a pipe the orphan still holds.
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<std::string> argv_storage{program};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
    env_storage.insert(env_storage.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    const int rc = posix_spawn(&pid_, program.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    stderr_fd_ = fds[0];
    if (rc != 0) throw std::runtime_error("posix_spawn " + program + ": " + std::strerror(rc));
  }
  ~Process() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stderr_fd_ >= 0) close(stderr_fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  /// The next line the process writes to stderr; "" at end of stream or after `timeout_ms`.
  std::string read_line(int timeout_ms = 30000) {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        all_ += line + "\n";
        return line;
      }
      pollfd p{stderr_fd_, POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return {};
      char chunk[4096];
      const ssize_t n = read(stderr_fd_, chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  /// Sends `signal` and waits for the exit; returns the exit status (or 128 + signal).
  int stop(int signal = SIGTERM) {
    kill(pid_, signal);
    return wait();
  }
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  /// Reads stderr to its end (call after the process exited) and returns all of it.
  const std::string& read_to_end() {
    while (!read_line(1000).empty()) {
    }
    return all_;
  }
  /// Everything read from stderr so far.
  [[nodiscard]] const std::string& output() const noexcept { return all_; }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string buffer_;
  std::string all_;
};

}  // namespace traffic::test
