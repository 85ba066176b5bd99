// The spool and the emitter on a full disk (a real tmpfs the test mounts): clicks are
// refused while nothing can be written, the disk frees itself as the sinks pass what was
// written, no record reaches a sink twice, and a cursor that cannot be saved does not make
// the sink take its records again.

#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "small_disk.hpp"
#include "test_support.hpp"
#include "traffic/pipeline/emitter.hpp"
#include "traffic/pipeline/spool.hpp"
#include "traffic/testing/memory_sink.hpp"

namespace traffic::pipeline {
namespace {

EmitterSettings fast() {
  return test::quick_emitter(64);
}

std::vector<Emitter::NamedSink> memory_sink(test::MemorySink::Shared& shared) {
  return test::memory_sinks(shared);
}

bool put(Spool& spool, const std::string& payload) {
  auto& writer = spool.writer(0);
  writer.buffer().append(payload);
  return writer.append();
}

std::string record(int n) {
  return "{\"n\":" + std::to_string(n) + ",\"pad\":\"" + std::string(900, 'p') + "\"}\n";
}

// The old behaviour: with segments larger than the disk, the segment being written filled
// the disk and could never be deleted (only finished segments are), so the spool refused
// clicks until an operator freed space. Now a failed write moves the lane to a new segment,
// the sinks pass the full one, it is deleted, and clicks are taken again by themselves.
TEST(FullDisk, TheSpoolRefusesThenRecoversOnceTheSinksPassedWhatItHolds) {
  test::SmallDisk disk(2u << 20);
  if (!disk.available()) GTEST_SKIP() << disk.why_not();
  SpoolSettings settings;
  settings.directory = disk.path() / "spool";
  settings.lanes = 1;
  settings.segment_bytes = 64ull << 20;  // the default, far larger than this disk
  settings.fsync_interval = std::chrono::milliseconds(0);
  settings.sinks = {"memory"};
  Spool spool(settings);

  int appended = 0;
  while (put(spool, record(appended))) ++appended;
  ASSERT_GT(appended, 100);
  EXPECT_GT(spool.stats().write_errors, 0U);
  EXPECT_EQ(spool.stats().last_write_errno, ENOSPC);
  EXPECT_FALSE(put(spool, record(appended)));  // still full

  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  ASSERT_TRUE(test::MemorySink::await(shared, [&](auto& s) { return s.records.size() >= std::size_t(appended); }));
  // The sink has passed the full segment: it is deleted and the disk has room again.
  ASSERT_TRUE(test::eventually([&] { return put(spool, record(appended)); }));
  ++appended;
  ASSERT_TRUE(test::MemorySink::await(shared, [&](auto& s) { return s.records.size() >= std::size_t(appended); }));
  emitter.stop(std::chrono::seconds(5));

  std::lock_guard lock(shared.mutex);
  ASSERT_EQ(shared.records.size(), std::size_t(appended));  // each once, in order
  for (int n = 0; n < appended; ++n) EXPECT_EQ(shared.records[std::size_t(n)], record(n)) << n;
}

// A cursor file that cannot be written (here: a directory stands in its place) used to make
// the emitter offer the same records again after each retry — the file sink wrote them up
// to four times. Now the records the sink has are never offered again, the cursor write is
// retried, and once it succeeds a restart finds nothing to send.
TEST(FullDisk, ACursorThatCannotBeSavedNeverMakesTheSinkTakeRecordsTwice) {
  test::TempDir dir("cursor-blocked");
  SpoolSettings settings;
  settings.directory = dir.path();
  settings.lanes = 1;
  settings.segment_bytes = 4096;
  settings.fsync_interval = std::chrono::milliseconds(0);
  settings.sinks = {"memory"};
  const auto cursor_file = dir.path() / "cursors" / "memory";
  {
    Spool spool(settings);
    std::filesystem::remove(cursor_file);
    std::filesystem::create_directories(cursor_file / "blocked");  // neither replaced nor written in place
    for (int n = 0; n < 100; ++n) ASSERT_TRUE(put(spool, record(n)));
    test::MemorySink::Shared shared;
    Emitter emitter(spool, memory_sink(shared), fast());
    emitter.start();
    ASSERT_TRUE(test::MemorySink::await(shared, [](auto& s) { return s.records.size() >= 100; }));
    ASSERT_TRUE(test::eventually([&] { return emitter.stats()[0].failures >= 5; }));  // retried, and retried
    SinkStats stats = emitter.stats()[0];
    EXPECT_TRUE(stats.cursor_behind);
    EXPECT_NE(stats.last_failure.find("cannot write cursor"), std::string::npos) << stats.last_failure;
    {
      std::lock_guard lock(shared.mutex);
      EXPECT_EQ(shared.records.size(), 100U);  // once each
    }
    std::filesystem::remove_all(cursor_file);  // the disk has room again
    ASSERT_TRUE(test::eventually([&] { return !emitter.stats()[0].cursor_behind; }));
    emitter.stop(std::chrono::seconds(5));
    std::lock_guard lock(shared.mutex);
    EXPECT_EQ(shared.records.size(), 100U);
  }
  Spool spool(settings);
  test::MemorySink::Shared shared;
  Emitter emitter(spool, memory_sink(shared), fast());
  emitter.start();
  emitter.stop(std::chrono::seconds(5));
  EXPECT_TRUE(shared.records.empty());
}

// A cursor moves by writing into blocks its file already owns: with the disk full to the
// last byte, commits still succeed, and a torn write of one slot leaves the other.
TEST(FullDisk, CursorsMoveWithNoFreeSpaceAndSurviveATornSlot) {
  test::SmallDisk disk(1u << 20);
  if (!disk.available()) GTEST_SKIP() << disk.why_not();
  SpoolSettings settings;
  settings.directory = disk.path() / "spool";
  settings.lanes = 2;
  settings.fsync_interval = std::chrono::milliseconds(0);
  settings.sinks = {"memory"};
  {
    Spool spool(settings);
    disk.fill();
    for (std::uint64_t i = 1; i <= 5; ++i) {
      ASSERT_NO_THROW(spool.commit("memory", {{i, i * 10}, {i, i * 20}}));
    }
  }
  {
    Spool spool(settings);
    EXPECT_EQ(spool.cursor("memory"), (std::vector<SpoolPosition>{{5, 50}, {5, 100}}));
    spool.commit("memory", {{6, 60}, {6, 120}});  // generation 7: slot 1
  }
  // A crash tore slot 1: its checksum fails, and the cursor before it is read.
  const auto path = settings.directory / "cursors" / "memory";
  std::string content = read_file(path);
  content[content.size() / 2 + 30] ^= 0x55;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
  }
  Spool spool(settings);
  EXPECT_EQ(spool.cursor("memory"), (std::vector<SpoolPosition>{{5, 50}, {5, 100}}));
}

}  // namespace
}  // namespace traffic::pipeline
