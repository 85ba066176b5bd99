#include "traffic/pipeline/emitter.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

namespace traffic::pipeline {
namespace {

std::int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Emitter::Runner {
  std::string name;
  std::unique_ptr<Sink> sink;
  std::size_t batch_records = 0;
  std::chrono::milliseconds poll{0};
  std::thread thread;

  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::chrono::steady_clock::time_point deadline;
  bool hurry = false;                  // read now, do not wait out the poll: await_taken() waits
  std::vector<SpoolPosition> taken;    // past every record the sink has taken
  bool failing = false;                // the last delivery failed: await_taken() does not wait
  std::condition_variable progressed;  // `taken` moved

  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::int64_t> last_success_ms{0};
  std::atomic<std::uint64_t> held_bytes{0};  // taken by the sink, not yet durable
  std::atomic<bool> cursor_behind{false};    // durable records whose cursor could not be saved yet

  mutable std::mutex failure_mutex;
  std::string last_failure;  // the last failure's reason, for the daemon's warnings

  void note_failure(std::string reason) {
    std::lock_guard lock(failure_mutex);
    last_failure = std::move(reason);
  }

  // Nothing to deliver: waits up to `pause`, returning early when stop() is called or
  // someone awaits what was written.
  void wait_idle(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex);
    wake.wait_for(lock, pause, [&] { return stopping || hurry; });
    hurry = false;
  }
  void note_failing(bool now_failing) {
    {
      std::lock_guard lock(mutex);
      if (failing == now_failing) return;
      failing = now_failing;
    }
    progressed.notify_all();
  }
  void note_taken(const std::vector<SpoolPosition>& positions) {
    {
      std::lock_guard lock(mutex);
      taken = positions;
    }
    progressed.notify_all();
  }
  // After a failure: waits `pause` even while stopping (a down sink is not hammered during
  // the drain), but never past the drain deadline.
  void wait_backoff(std::chrono::milliseconds pause) {
    std::unique_lock lock(mutex);
    const auto until = std::chrono::steady_clock::now() + pause;
    wake.wait_until(lock, until, [&] { return stopping; });
    if (stopping) wake.wait_until(lock, std::min(until, deadline), [] { return false; });
  }
  bool stop_requested(bool& past_deadline) {
    std::lock_guard lock(mutex);
    past_deadline = stopping && std::chrono::steady_clock::now() >= deadline;
    return stopping;
  }
};

Emitter::Emitter(Spool& spool, std::vector<NamedSink> sinks, EmitterSettings settings)
    : spool_(spool), settings_(settings) {
  for (auto& named : sinks) {
    auto runner = std::make_unique<Runner>();
    runner->name = std::move(named.name);
    runner->sink = std::move(named.sink);
    runner->batch_records = named.batch_records != 0 ? named.batch_records : settings_.batch_records;
    runner->poll = named.poll.count() != 0 ? named.poll : settings_.poll;
    (void)spool_.cursor(runner->name);  // configured in the spool, or std::invalid_argument
    runners_.push_back(std::move(runner));
  }
}

Emitter::~Emitter() {
  stop(std::chrono::milliseconds(0));
}

void Emitter::start() {
  for (auto& runner : runners_) {
    if (!runner->thread.joinable()) {
      runner->thread = std::thread([this, r = runner.get()] {
        // "sink-<name>" in top, perf and gdb (the kernel keeps 15 characters).
        pthread_setname_np(pthread_self(), ("sink-" + r->name).substr(0, 15).c_str());
        // Clicks first: on a saturated machine the request threads win the CPU and the
        // backlog waits on disk (bounded by SPOOL_MAX_MB) rather than visitors waiting.
        // Linux applies a nice value to the calling thread alone.
        (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), settings_.sink_nice);
        run(*r);
      });
    }
  }
}

void Emitter::stop(std::chrono::milliseconds drain) {
  const auto deadline = std::chrono::steady_clock::now() + drain;
  for (auto& runner : runners_) {
    {
      std::lock_guard lock(runner->mutex);
      runner->stopping = true;
      runner->deadline = deadline;
    }
    runner->wake.notify_all();
  }
  for (auto& runner : runners_) {
    if (runner->thread.joinable()) runner->thread.join();
  }
}

void Emitter::run(Runner& runner) {
  Sink& sink = *runner.sink;
  // `committed`: the persisted cursor.
  // `durable`: past records the destination has durably; ahead of `committed` only while
  //   the cursor cannot be saved (a full disk): those records are never offered again.
  // `positions`: past records the sink has taken; ahead of `durable` while it holds some.
  std::vector<SpoolPosition> committed = spool_.cursor(runner.name);
  std::vector<SpoolPosition> durable = committed;
  std::vector<SpoolPosition> positions = committed;
  std::vector<SpoolPosition> next = positions;
  std::string arena;                  // the batch's records, back to back
  bool batch_full = false;            // the batch stopped at its bound: more is waiting, read again at once
  std::vector<std::size_t> ends;      // where each record ends in `arena`
  std::vector<RecordOrigin> origins;  // where each record lies in the spool
  std::vector<std::string_view> records;
  std::minstd_rand jitter(settings_.jitter_seed != 0 ? static_cast<std::minstd_rand::result_type>(settings_.jitter_seed)
                                                     : std::random_device{}());
  auto backoff = settings_.backoff_first;
  // A holding sink keeps its records' segments on disk: past a quarter of the disk bound
  // it is flushed, so held records never push the spool to its bound.
  const std::uint64_t most_held = std::max<std::uint64_t>(spool_.settings().max_bytes / 4, 1);

  enum class Outcome : std::uint8_t {
    ok,
    sink_failed,    // the batch, and what a holding sink held, are offered again
    cursor_failed,  // nothing is offered again: the cursor is saved on a later round
  };
  const auto sink_failed = [&](const Failure& failure) {
    runner.note_failure(failure.detail.empty() ? "delivery failed" : failure.detail);
    return Outcome::sink_failed;
  };
  // Saves the cursor at `durable`. A cursor file that cannot be written (a full disk) must not
  // make the sink take its records twice: they stay durable, and the write is retried.
  const auto persist = [&] {
    Outcome outcome = Outcome::ok;
    if (durable != committed) {
      if (const Result<> saved = spool_.commit(runner.name, durable); saved) {
        committed = durable;
      } else {
        runner.note_failure("cursor not saved: " + saved.error().detail);
        outcome = Outcome::cursor_failed;
      }
    }
    runner.cursor_behind.store(durable != committed, std::memory_order_relaxed);
    return outcome;
  };
  // What the sink has taken becomes durable once none of it is held, and the cursor moves
  // past it.
  const auto settle = [&] {
    if (sink.holding()) {
      const std::uint64_t not_taken = spool_.pending_bytes(positions);  // first: appends only grow the other
      const std::uint64_t not_durable = spool_.pending_bytes(durable);
      const std::uint64_t held = not_durable > not_taken ? not_durable - not_taken : 0;
      runner.held_bytes.store(held, std::memory_order_relaxed);
      if (held < most_held) return persist();
      if (const Result<> flushed = sink.flush(); !flushed) return sink_failed(flushed.error());
    }
    durable = positions;
    runner.held_bytes.store(0, std::memory_order_relaxed);
    return persist();
  };

  for (;;) {
    bool past_deadline = false;
    const bool stopping = runner.stop_requested(past_deadline);
    if (past_deadline) break;

    if (ends.empty()) {  // a new batch; after a failure the same batch is offered again
      arena.clear();
      origins.clear();
      next = positions;
      next.resize(spool_.lanes());
      // Bounded by records and by bytes: a batch of long records must not hold gigabytes.
      Spool::ReadBudget budget{.max_records = runner.batch_records, .max_bytes = settings_.batch_bytes};
      for (std::size_t lane = 0; lane < next.size() && !budget.spent; ++lane) {
        next[lane] = spool_.read_positioned(lane, next[lane], budget, [&](std::string_view record, SpoolPosition end) {
          arena.append(record);
          ends.push_back(arena.size());
          origins.push_back({static_cast<std::uint32_t>(lane), end});
        });
      }
      batch_full = budget.spent || ends.size() >= runner.batch_records;
    }
    Outcome outcome = Outcome::sink_failed;
    bool full = false;
    if (ends.empty()) {
      // Nothing read, but the reader may have moved past finished segments: the cursor
      // follows, so that they can be deleted even when no record comes after them (a
      // full disk, where deleting them is what makes room).
      positions = next;
      runner.note_taken(positions);
      if (stopping && durable == committed) break;  // caught up
      const Result<> idled = sink.idle();
      outcome = idled ? settle() : sink_failed(idled.error());
      if (outcome == Outcome::ok) {
        if (stopping) break;
        runner.wait_idle(runner.poll);
        continue;
      }
    } else {
      records.clear();
      std::size_t begin = 0;
      for (const std::size_t end : ends) {
        records.emplace_back(arena.data() + begin, end - begin);
        begin = end;
      }
      if (const Result<> delivered = sink.deliver_with_origins(records, origins); delivered) {
        positions = next;
        runner.note_taken(positions);
        full = batch_full;
        runner.delivered.fetch_add(ends.size(), std::memory_order_relaxed);
        runner.last_success_ms.store(steady_ms(), std::memory_order_relaxed);
        ends.clear();
        outcome = settle();
      } else {
        outcome = sink_failed(delivered.error());
      }
    }
    runner.note_failing(outcome == Outcome::sink_failed);
    if (outcome == Outcome::ok) {
      backoff = settings_.backoff_first;
      // Caught up: let records gather for a poll interval. Each delivery costs the sink
      // its own durability (a file's fsync, an HTTP request) plus the cursor's fsyncs, so
      // under load a few large batches per second cost far less than many small ones.
      if (!full && !stopping) runner.wait_idle(runner.poll);
      continue;
    }
    runner.failures.fetch_add(1, std::memory_order_relaxed);
    if (outcome == Outcome::sink_failed && positions != durable) {
      // The sink dropped what it held: read again from what it has durably.
      positions = durable;
      ends.clear();
      runner.held_bytes.store(0, std::memory_order_relaxed);
    }
    // Full jitter over the upper half: instances that failed together do not retry together.
    const auto half = backoff / 2;
    runner.wait_backoff(half + std::chrono::milliseconds(jitter() % (static_cast<unsigned>(half.count()) + 1)));
    backoff = std::min(backoff * 2, settings_.backoff_max);
  }
  // What the sink still holds is made durable, and the cursor moved past it, before it closes.
  if (!sink.flush() || settle() != Outcome::ok) runner.failures.fetch_add(1, std::memory_order_relaxed);
  sink.close();
}

bool Emitter::await_taken(std::string_view name, std::chrono::milliseconds limit) {
  const auto found = std::find_if(runners_.begin(), runners_.end(), [&](const auto& r) { return r->name == name; });
  if (found == runners_.end()) return false;
  Runner& runner = **found;
  const std::vector<SpoolPosition> target = spool_.written();
  const auto covers = [&] {
    for (std::size_t lane = 0; lane < target.size(); ++lane) {
      const SpoolPosition at = lane < runner.taken.size() ? runner.taken[lane] : SpoolPosition{};
      if (at < target[lane]) return false;
    }
    return true;
  };
  std::unique_lock lock(runner.mutex);
  if (covers()) return true;
  if (runner.failing) return false;  // a sink that cannot deliver now is not waited for
  runner.hurry = true;
  runner.wake.notify_all();
  runner.progressed.wait_for(lock, limit, [&] { return covers() || runner.failing; });
  return covers();
}

std::vector<SinkStats> Emitter::stats() const {
  std::vector<SinkStats> out;
  for (const auto& runner : runners_) {
    SinkStats s;
    s.name = runner->name;
    s.delivered = runner->delivered.load(std::memory_order_relaxed);
    s.failures = runner->failures.load(std::memory_order_relaxed);
    const std::int64_t last = runner->last_success_ms.load(std::memory_order_relaxed);
    s.seconds_since_success = last > 0 ? static_cast<double>(steady_ms() - last) / 1000.0 : -1.0;
    s.held_bytes = runner->held_bytes.load(std::memory_order_relaxed);
    s.cursor_behind = runner->cursor_behind.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(runner->failure_mutex);
      s.last_failure = runner->last_failure;
    }
    const std::uint64_t not_durable = spool_.pending_bytes(spool_.cursor(runner->name));
    s.pending_bytes = not_durable > s.held_bytes ? not_durable - s.held_bytes : 0;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace traffic::pipeline
