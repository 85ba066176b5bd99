// The emitter: each sink fed from the spool by its own thread, its cursor, backoff, held
// records and read-your-writes.

#include "traffic/pipeline/emitter.hpp"

#include <gtest/gtest.h>

#include "closed_files.hpp"
#include "test_support.hpp"
#include "traffic/pipeline/sinks/file_sink.hpp"
#include "traffic/testing/memory_sink.hpp"

namespace traffic::pipeline {
namespace {

namespace fs = std::filesystem;
using test::all_closed_lines;

class EmitterTest : public ::testing::Test {
 protected:
  SpoolSettings spool_settings(std::vector<std::string> sinks = {"memory"}) const {
    SpoolSettings s;
    s.directory = dir_.path();
    s.lanes = 2;
    s.fsync_interval = std::chrono::milliseconds(0);
    s.segment_bytes = 256;  // a few records per segment, so deletion is exercised
    s.sinks = std::move(sinks);
    return s;
  }
  static void put(Spool& spool, std::size_t lane, const std::string& payload) {
    auto& writer = spool.writer(lane);
    writer.buffer().append(payload);
    ASSERT_TRUE(writer.append());
  }
  static EmitterSettings fast() { return test::quick_emitter(7); }
  static std::vector<Emitter::NamedSink> memory_sink(test::MemorySink::Shared& shared) {
    return test::memory_sinks(shared);
  }
  test::TempDir dir_{"emitter"};
};

TEST_F(EmitterTest, DeliversEveryLaneInOrderAndDeletesPassedSegments) {
  Spool spool(spool_settings());
  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  for (int i = 0; i < 100; ++i) put(spool, static_cast<std::size_t>(i % 2), "{\"n\":" + std::to_string(i) + "}\n");
  ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.records.size() >= 100; }));
  emitter.stop(std::chrono::seconds(5));
  ASSERT_EQ(shared.records.size(), 100U);  // exactly once: no failure happened
  // Per lane, in the order appended.
  int last_even = -2, last_odd = -1;
  for (const auto& r : shared.records) {
    const int n = std::stoi(r.substr(5));
    int& last = n % 2 == 0 ? last_even : last_odd;
    EXPECT_EQ(n, last + 2) << r;
    last = n;
  }
  EXPECT_TRUE(shared.closed);
  EXPECT_EQ(emitter.stats()[0].delivered, 100U);
  EXPECT_EQ(emitter.stats()[0].pending_bytes, 0U);
  // Only each lane's segment being written is left.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_.path() / "lane-0"), fs::directory_iterator()), 1);
}

TEST_F(EmitterTest, AFailingSinkGetsTheSameRecordsAgainAfterBackoff) {
  Spool spool(spool_settings());
  for (int i = 0; i < 20; ++i) put(spool, 0, "r" + std::to_string(i) + "\n");
  test::MemorySink::Shared shared;
  shared.fail_next = 5;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.records.size() >= 20; }));
  emitter.stop(std::chrono::seconds(5));
  EXPECT_EQ(shared.refused, 5);
  ASSERT_EQ(shared.records.size(), 20U);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(shared.records[static_cast<std::size_t>(i)], "r" + std::to_string(i) + "\n");
  EXPECT_EQ(emitter.stats()[0].failures, 5U);
}

TEST_F(EmitterTest, StopDrainsTheBacklogAndARestartResumesFromTheCursor) {
  {
    Spool spool(spool_settings());
    for (int i = 0; i < 30; ++i) put(spool, static_cast<std::size_t>(i % 2), "a" + std::to_string(i) + "\n");
    test::MemorySink::Shared shared;
    Emitter emitter(spool, memory_sink(shared), fast());
    emitter.start();
    emitter.stop(std::chrono::seconds(10));  // at once: the drain delivers all 30
    EXPECT_EQ(shared.records.size(), 30U);
  }
  Spool spool(spool_settings());
  put(spool, 1, "b0\n");
  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  emitter.stop(std::chrono::seconds(10));
  ASSERT_EQ(shared.records.size(), 1U);  // the first run's records were acknowledged
  EXPECT_EQ(shared.records[0], "b0\n");
}

TEST_F(EmitterTest, ASinkThatStaysDownKeepsItsBacklogOnDisk) {
  SpoolSettings settings = spool_settings();
  {
    Spool spool(settings);
    for (int i = 0; i < 10; ++i) put(spool, 0, "c" + std::to_string(i) + "\n");
    test::MemorySink::Shared shared;
    shared.fail_next = 1'000'000;
    Emitter emitter(spool, memory_sink(shared), fast());
    emitter.start();
    ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.refused >= 3; }));
    emitter.stop(std::chrono::milliseconds(20));
    EXPECT_TRUE(shared.records.empty());
    EXPECT_GT(emitter.stats()[0].pending_bytes, 0U);
  }
  Spool spool(settings);
  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  emitter.stop(std::chrono::seconds(10));
  EXPECT_EQ(shared.records.size(), 10U);
}

// A sink that holds what it takes (the file sink) keeps those records behind the cursor
// until it has flushed them; the drain at stop flushes, and a restart finds nothing left.
TEST_F(EmitterTest, HeldRecordsStayBehindTheCursorUntilFlushed) {
  {
    Spool spool(spool_settings());
    for (int i = 0; i < 30; ++i) put(spool, static_cast<std::size_t>(i % 2), "h" + std::to_string(i) + "\n");
    test::MemorySink::Shared shared;
    shared.hold = true;
    Emitter emitter(spool, memory_sink(shared), fast());
    emitter.start();
    ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.held.size() >= 30 && s.idles >= 1; }));
    for (const auto& position : spool.cursor("memory")) EXPECT_EQ(position, SpoolPosition{});
    const SinkStats held = emitter.stats()[0];
    EXPECT_EQ(held.pending_bytes, 0U);  // all taken...
    EXPECT_GT(held.held_bytes, 0U);     // ...none durable
    EXPECT_EQ(held.delivered, 30U);
    emitter.stop(std::chrono::seconds(10));
    EXPECT_EQ(shared.records.size(), 30U);
    EXPECT_EQ(shared.flushes, 1);
    EXPECT_EQ(emitter.stats()[0].held_bytes, 0U);
  }
  Spool spool(spool_settings());
  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  emitter.stop(std::chrono::seconds(10));
  EXPECT_TRUE(shared.records.empty());
}

// A flush that fails drops what the sink held; those records are read again from the
// cursor and arrive with the next flush, in order, none lost.
TEST_F(EmitterTest, AFailedFlushOffersTheHeldRecordsAgain) {
  SpoolSettings settings = spool_settings();
  settings.max_bytes = 8192;  // 2 KiB held (a quarter) makes the emitter flush; all 200 records are ~3.6 KiB
  Spool spool(settings);
  test::MemorySink::Shared shared;
  shared.hold = true;
  shared.fail_next_flushes = 2;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  std::vector<std::string> expected;
  for (int i = 0; i < 200; ++i) {
    expected.push_back("{\"f\":" + std::to_string(i) + "}\n");
    put(spool, 0, expected.back());
  }
  // Flushed for the spool's sake while running, not only at stop.
  ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.flushes >= 1; }));
  emitter.stop(std::chrono::seconds(10));
  EXPECT_EQ(shared.failed_flushes, 2);
  EXPECT_EQ(shared.records, expected);
  EXPECT_GE(emitter.stats()[0].failures, 2U);
}

TEST_F(EmitterTest, TwoSinksEachGetEverything) {
  Spool spool(spool_settings({"memory", "file"}));
  test::MemorySink::Shared shared;
  std::vector<Emitter::NamedSink> sinks = memory_sink(shared);
  FileSinkSettings file;
  file.directory = dir_.path() / "out";
  sinks.push_back({"file", std::make_unique<FileSink>(file)});
  Emitter emitter(spool, std::move(sinks), fast());
  emitter.start();
  std::string expected;
  for (int i = 0; i < 25; ++i) {
    const std::string line = "{\"i\":" + std::to_string(i) + "}\n";
    put(spool, 0, line);
    expected += line;
  }
  emitter.stop(std::chrono::seconds(10));
  EXPECT_EQ(shared.records.size(), 25U);
  EXPECT_EQ(all_closed_lines(file.directory), expected);
}

// await_taken: a sink that would otherwise wait out its poll (10 s here) is woken and
// awaited; when it returns the sink has every record written before the call. An unknown
// sink, or one that refuses, is a false after the limit, never a hang.
TEST_F(EmitterTest, AwaitTakenWakesTheSinkAndReturnsOnceItHasEverythingWritten) {
  Spool spool(spool_settings());
  test::MemorySink::Shared shared;
  EmitterSettings slow = fast();
  slow.poll = std::chrono::seconds(10);
  Emitter emitter(spool, memory_sink(shared), slow);
  emitter.start();
  EXPECT_TRUE(emitter.await_taken("memory", std::chrono::seconds(5)));  // nothing written: caught up
  for (int round = 0; round < 20; ++round) {
    put(spool, static_cast<std::size_t>(round % 2), "{\"n\":" + std::to_string(round) + "}\n");
    ASSERT_TRUE(emitter.await_taken("memory", std::chrono::seconds(5))) << round;
    std::lock_guard lock(shared.mutex);
    ASSERT_EQ(shared.records.size(), static_cast<std::size_t>(round + 1));
  }
  EXPECT_FALSE(emitter.await_taken("no-such-sink", std::chrono::milliseconds(10)));
  {
    std::lock_guard lock(shared.mutex);
    shared.fail_next = 1'000'000;
  }
  put(spool, 0, "{\"n\":\"refused\"}\n");
  EXPECT_FALSE(emitter.await_taken("memory", std::chrono::milliseconds(50)));
  emitter.stop(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace traffic::pipeline
