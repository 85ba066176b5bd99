// Ticker: the task runs at once and then every interval; stop() does not wait out the
// interval, runs the task a last time and joins; stop() twice is harmless.

#include "traffic/common/ticker.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace traffic {
namespace {

// Counts the task's runs and lets the test await a number of them.
class Runs {
 public:
  void add() {
    std::lock_guard lock(mutex_);
    ++count_;
    changed_.notify_all();
  }
  void await(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int count_ = 0;
};

TEST(Ticker, RunsAtOnceThenEveryInterval) {
  Runs runs;
  Ticker ticker;
  ticker.start("ticker-test", std::chrono::milliseconds(1), [&] { runs.add(); });
  runs.await(3);  // the first run and two after an interval each
  ticker.stop();
  EXPECT_GE(runs.count(), 4);  // and the last one on stop()
}

TEST(Ticker, StopWakesTheThreadAndRunsTheTaskALastTime) {
  Runs runs;
  Ticker ticker;
  ticker.start("ticker-test", std::chrono::hours(1), [&] { runs.add(); });
  runs.await(1);
  ticker.stop();  // an hour's interval is not waited out: the test would time out
  EXPECT_EQ(runs.count(), 2);
  ticker.stop();  // idempotent
  EXPECT_EQ(runs.count(), 2);
}

}  // namespace
}  // namespace traffic
