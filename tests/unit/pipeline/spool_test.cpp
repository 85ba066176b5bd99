#include "traffic/pipeline/spool.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

namespace traffic::pipeline {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spool-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  SpoolSettings settings(std::vector<std::string> sinks = {"file"}) const {
    SpoolSettings s;
    s.directory = dir_;
    s.lanes = 2;
    s.fsync_interval = std::chrono::milliseconds(0);
    s.sinks = std::move(sinks);
    return s;
  }
  static bool put(Spool& spool, std::size_t lane, const std::string& payload) {
    auto& writer = spool.writer(lane);
    writer.buffer().append(payload);
    return writer.append();
  }
  // Everything readable in `lane` from `from`, in batches of `batch`.
  static std::vector<std::string> drain(Spool& spool, std::size_t lane, SpoolPosition& from, std::size_t batch = 3) {
    std::vector<std::string> out;
    for (;;) {
      const std::size_t before = out.size();
      from = spool.read(lane, from, batch, [&](std::string_view p) { out.emplace_back(p); });
      if (out.size() == before) return out;
    }
  }
  std::vector<fs::path> segments(std::size_t lane) const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_ / ("lane-" + std::to_string(lane)))) out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
};

TEST_F(SpoolTest, RecordsComeBackInOrderPerLane) {
  Spool spool(settings());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(put(spool, static_cast<std::size_t>(i % 2), "r" + std::to_string(i)));
  SpoolPosition lane0, lane1;
  const auto a = drain(spool, 0, lane0);
  const auto b = drain(spool, 1, lane1);
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(a[static_cast<std::size_t>(i)], "r" + std::to_string(2 * i));
    EXPECT_EQ(b[static_cast<std::size_t>(i)], "r" + std::to_string(2 * i + 1));
  }
  // Nothing new: the position stays; a later record is read from there.
  EXPECT_TRUE(drain(spool, 0, lane0).empty());
  ASSERT_TRUE(put(spool, 0, "late"));
  EXPECT_EQ(drain(spool, 0, lane0), std::vector<std::string>{"late"});
  EXPECT_EQ(spool.stats().appended, 21u);
}

// A positioned read names where each record ends: where a reader that took it resumes.
TEST_F(SpoolTest, EachRecordComesWithItsEndAndTheSpoolKeepsItsId) {
  std::string id;
  {
    Spool spool(settings());
    id = spool.id();
    EXPECT_EQ(id.size(), 16U);
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(put(spool, 0, "record-" + std::to_string(i)));
    Spool::ReadBudget budget;
    std::vector<SpoolPosition> ends;
    const SpoolPosition last =
        spool.read_positioned(0, {}, budget, [&](std::string_view, SpoolPosition end) { ends.push_back(end); });
    ASSERT_EQ(ends.size(), 3U);
    EXPECT_EQ(ends.back(), last);
    EXPECT_LT(ends[0], ends[1]);
    // Reading from a record's end gives the records after it.
    std::vector<std::string> rest;
    (void)spool.read(0, ends[0], 10, [&](std::string_view p) { rest.emplace_back(p); });
    EXPECT_EQ(rest, (std::vector<std::string>{"record-1", "record-2"}));
  }
  Spool reopened(settings());
  EXPECT_EQ(reopened.id(), id);
  fs::remove_all(dir_);
  Spool fresh(settings());
  EXPECT_NE(fresh.id(), id);
}

// Reads go through a 256 KiB chunk that grows for a larger record: records of every size up
// to the 1 MiB maximum, across and beyond chunk boundaries, come back whole and in order.
TEST_F(SpoolTest, RecordsOfEverySizeUpToTheMaximumComeBackWhole) {
  SpoolSettings s = settings();
  s.segment_bytes = 64ull << 20;
  Spool spool(s);
  std::vector<std::string> expected;
  for (const std::size_t size :
       {std::size_t{100}, std::size_t{256} << 10, std::size_t{1} << 20, std::size_t{7}, (std::size_t{256} << 10) - 8,
        (std::size_t{256} << 10) + 1, std::size_t{600} << 10, std::size_t{1} << 20, std::size_t{3}}) {
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>('a' + (i * 7 + size) % 26);
    ASSERT_TRUE(put(spool, 0, payload)) << size;
    expected.push_back(std::move(payload));
  }
  for (const std::size_t batch : {std::size_t{1}, std::size_t{4}, std::size_t{100}}) {
    SpoolPosition from;
    EXPECT_EQ(drain(spool, 0, from, batch), expected) << batch;
  }
  EXPECT_EQ(spool.stats().corrupt_tails, 0u);
}

// A byte budget bounds what one read delivers (a batch of long records must not hold
// gigabytes), except that a first record larger than the budget still goes, alone; the
// reads together deliver everything once, in order, across segments.
TEST_F(SpoolTest, AByteBudgetBoundsEachReadAndLosesNothing) {
  SpoolSettings s = settings();
  s.segment_bytes = 16 * 1024;  // several segments
  Spool spool(s);
  std::vector<std::string> written;
  for (int i = 0; i < 60; ++i) {
    written.push_back(std::to_string(i) + ":" + std::string(static_cast<std::size_t>(i % 7 == 0 ? 9000 : 700), 'x'));
    ASSERT_TRUE(put(spool, 0, written.back()));
  }
  constexpr std::size_t kMaxBytes = 4000;
  std::vector<std::string> got;
  SpoolPosition at;
  for (int reads = 0; reads < 1000; ++reads) {
    Spool::ReadBudget budget{.max_records = 100, .max_bytes = kMaxBytes};
    std::vector<std::string> batch;
    at = spool.read(0, at, budget, [&](std::string_view p) { batch.emplace_back(p); });
    if (batch.empty()) break;
    std::size_t bytes = 0;
    for (const auto& record : batch) bytes += record.size();
    EXPECT_EQ(budget.bytes, bytes);
    EXPECT_TRUE(bytes <= kMaxBytes || batch.size() == 1) << bytes << " in " << batch.size();
    EXPECT_EQ(budget.spent, got.size() + batch.size() < written.size());
    got.insert(got.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(got, written);
}

TEST_F(SpoolTest, ReplayFromThePersistedCursorAfterRestart) {
  {
    Spool spool(settings());
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(put(spool, 0, "before-" + std::to_string(i)));
    std::vector<SpoolPosition> cursor = spool.cursor("file");
    std::vector<std::string> got;
    cursor[0] = spool.read(0, cursor[0], 4, [&](std::string_view p) { got.emplace_back(p); });
    ASSERT_EQ(got.size(), 4u);
    spool.commit("file", cursor);
  }
  Spool spool(settings());
  ASSERT_TRUE(put(spool, 0, "after"));  // a new run writes a new segment
  std::vector<SpoolPosition> cursor = spool.cursor("file");
  EXPECT_EQ(drain(spool, 0, cursor[0]), (std::vector<std::string>{"before-4", "before-5", "after"}));
  EXPECT_EQ(segments(0).size(), 2u);
}

// A crash in the middle of a write leaves part of a record at the end of the segment: the
// records before it are read, the torn bytes are skipped, the next run's records follow.
TEST_F(SpoolTest, TornTailIsSkippedWithoutLosingTheRecordsBeforeIt) {
  {
    Spool spool(settings());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(put(spool, 0, "click-" + std::to_string(i)));
  }
  const fs::path segment = segments(0).at(0);
  fs::resize_file(segment, fs::file_size(segment) - 3);  // the last record loses its end
  Spool spool(settings());
  ASSERT_TRUE(put(spool, 0, "next-run"));
  SpoolPosition from;
  const auto got = drain(spool, 0, from);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[8], "click-8");
  EXPECT_EQ(got[9], "next-run");
  EXPECT_EQ(spool.stats().corrupt_tails, 1u);
}

TEST_F(SpoolTest, CorruptRecordEndsItsSegmentButNotTheNext) {
  {
    Spool spool(settings());
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(put(spool, 0, "click-" + std::to_string(i)));
  }
  const fs::path segment = segments(0).at(0);
  {
    std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3 * (8 + 7) + 8 + 2);  // a payload byte of the fourth record
    f.put('X');
  }
  Spool spool(settings());
  ASSERT_TRUE(put(spool, 0, "next-run"));
  SpoolPosition from;
  EXPECT_EQ(drain(spool, 0, from), (std::vector<std::string>{"click-0", "click-1", "click-2", "next-run"}));
  EXPECT_EQ(spool.stats().corrupt_tails, 1u);
}

TEST_F(SpoolTest, SegmentsAreDeletedOnceEverySinkHasPassedThem) {
  SpoolSettings s = settings({"file", "http"});
  s.segment_bytes = 100;
  Spool spool(s);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(put(spool, 0, "record-" + std::string(20, 'x')));
  const std::size_t written = segments(0).size();
  ASSERT_GT(written, 5u);

  std::vector<SpoolPosition> file = spool.cursor("file");
  EXPECT_EQ(drain(spool, 0, file[0]).size(), 30u);
  spool.commit("file", file);
  EXPECT_EQ(segments(0).size(), written);  // "http" has not read anything yet

  std::vector<SpoolPosition> http = spool.cursor("http");
  EXPECT_EQ(drain(spool, 0, http[0]).size(), 30u);
  spool.commit("http", http);
  EXPECT_EQ(segments(0).size(), 1u);  // only the segment being written stays
  EXPECT_LT(spool.stats().bytes_on_disk, 100u + 40u);
}

TEST_F(SpoolTest, AtTheDiskBoundRejectRefusesUntilSinksCatchUp) {
  SpoolSettings s = settings();
  s.segment_bytes = 100;
  s.max_bytes = 400;
  Spool spool(s);
  std::size_t accepted = 0;
  while (put(spool, 0, std::string(30, 'a'))) ++accepted;
  EXPECT_GT(accepted, 5u);
  EXPECT_EQ(spool.stats().rejected, 1u);
  EXPECT_FALSE(put(spool, 0, std::string(30, 'b')));
  std::vector<SpoolPosition> cursor = spool.cursor("file");
  EXPECT_EQ(drain(spool, 0, cursor[0]).size(), accepted);  // nothing accepted was lost
  spool.commit("file", cursor);
  EXPECT_TRUE(put(spool, 0, "room again"));
}

TEST_F(SpoolTest, AtTheDiskBoundDropOldestKeepsTheNewestAndCounts) {
  SpoolSettings s = settings();
  s.segment_bytes = 100;
  s.max_bytes = 400;
  s.full_policy = SpoolFullPolicy::drop_oldest;
  Spool spool(s);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(put(spool, 0, "n" + std::to_string(1000 + i)));
  EXPECT_GT(spool.stats().dropped_segments, 0u);
  EXPECT_LE(spool.stats().bytes_on_disk, 400u);
  SpoolPosition from;
  const auto got = drain(spool, 0, from);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), "n1099");
}

TEST_F(SpoolTest, OneProcessPerDirectory) {
  Spool first(settings());
  try {
    Spool second(settings());
    FAIL() << "a second spool on the same directory opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another process"), std::string::npos);
  }
}

TEST_F(SpoolTest, BadSettingsAreRefusedWithTheDirectoryNamed) {
  SpoolSettings s = settings({"Bad Name"});
  EXPECT_THROW(Spool spool(s), std::runtime_error);
  s = settings();
  s.directory.clear();
  EXPECT_THROW(Spool spool(s), std::runtime_error);
}

// Writers on two lanes and a reader at the same time (ThreadSanitizer runs this): the reader
// gets every record exactly once, in order per lane, never a half-written one.
// Open file descriptors of this process.
std::size_t open_fds() {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

// A writer moving to a new segment hands the finished one to the fsync thread instead of
// waiting for the disk: every finished segment is flushed and closed by sync() (or by
// the spool's end), none is left open, and every record reads back.
TEST_F(SpoolTest, FinishedSegmentsAreFlushedAndClosedBySync) {
  const std::size_t fds_before = open_fds();
  std::vector<std::string> written;
  {
    SpoolSettings s = settings();
    s.segment_bytes = 100;
    s.fsync_interval = std::chrono::hours(1);  // only rotations wake the fsync thread
    Spool spool(s);
    for (int i = 0; i < 40; ++i) {
      written.push_back("record-" + std::to_string(i) + std::string(40, 'x'));
      ASSERT_TRUE(put(spool, 0, written.back()));
    }
    spool.sync();
    // The lock file and the current segment are all that stay open, with each lane's
    // prepared next segment once the fsync thread has made it: no finished one.
    EXPECT_LE(open_fds(), fds_before + 2 + s.lanes);
    EXPECT_GT(spool.stats().fsyncs, 0U);
    SpoolPosition from;
    EXPECT_EQ(drain(spool, 0, from), written);
  }
  EXPECT_EQ(open_fds(), fds_before);
}

// Bytes a file occupies on disk (its blocks), which preallocation makes larger than its size.
std::uint64_t allocated(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

// The fsync thread prepares each lane's next segment with its blocks preallocated; the writer
// moves into it, the disk bound counts the preallocation, and what is left unused is given
// back when the spool closes — or at the next start after a crash.
TEST_F(SpoolTest, NextSegmentsArePreparedWithTheirBlocksAndGivenBackAtTheEnd) {
  SpoolSettings s = settings();
  s.segment_bytes = 1 << 20;
  s.fsync_interval = std::chrono::milliseconds(5);
  const fs::path lane0 = dir_ / "lane-0";
  const std::string record(100 << 10, 'r');
  std::vector<std::string> written;
  {
    Spool spool(s);
    written.push_back("first");
    ASSERT_TRUE(put(spool, 0, written.back()));  // the first segment, opened by the writer
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (allocated(lane0 / "spare.tmp") < s.segment_bytes && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    ASSERT_GE(allocated(lane0 / "spare.tmp"), s.segment_bytes) << "the fsync thread made no spare";
    for (int i = 0; i < 12; ++i) {  // past 1 MiB: the next write moves into the spare
      written.push_back(record + std::to_string(i));
      ASSERT_TRUE(put(spool, 0, written.back()));
    }
    const auto files = segments(0);
    const fs::path second = files.size() >= 2 ? files[1] : fs::path();
    ASSERT_EQ(second.extension(), ".seg");
    EXPECT_GE(allocated(second), s.segment_bytes);  // the spare, renamed
    EXPECT_LT(fs::file_size(second), s.segment_bytes);
    EXPECT_GE(spool.stats().bytes_on_disk, fs::file_size(files[0]) + s.segment_bytes);
  }
  EXPECT_FALSE(fs::exists(lane0 / "spare.tmp"));
  const fs::path last = segments(0).back();
  EXPECT_LT(allocated(last), fs::file_size(last) + (64 << 10));  // the unused blocks given back

  // A crash leaves a spare and a preallocated newest segment: the next start removes the
  // one and gives back the other's unused blocks; every record still reads back.
  {
    const int spare = ::open((lane0 / "spare.tmp").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(spare, 0);
    ASSERT_EQ(::fallocate(spare, FALLOC_FL_KEEP_SIZE, 0, 1 << 20), 0);
    ::close(spare);
    const int fd = ::open(last.c_str(), O_WRONLY);
    ASSERT_EQ(::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 4 << 20), 0);
    ::close(fd);
  }
  Spool spool(settings());
  EXPECT_FALSE(fs::exists(lane0 / "spare.tmp"));
  EXPECT_LT(allocated(last), fs::file_size(last) + (64 << 10));
  SpoolPosition from;
  EXPECT_EQ(drain(spool, 0, from), written);
}

TEST_F(SpoolTest, ConcurrentWritersAndReader) {
  SpoolSettings s = settings();
  s.segment_bytes = 4096;
  s.fsync_interval = std::chrono::milliseconds(5);
  Spool spool(s);
  constexpr int kPerLane = 3000;
  std::vector<std::thread> writers;
  for (std::size_t lane = 0; lane < 2; ++lane) {
    writers.emplace_back([&, lane] {
      for (int i = 0; i < kPerLane; ++i) ASSERT_TRUE(put(spool, lane, std::to_string(lane) + ":" + std::to_string(i)));
    });
  }
  std::vector<int> next(2, 0);
  std::vector<SpoolPosition> positions(2);
  std::size_t wrong = 0;
  // A guard against hanging if a record went missing (a failure, not a timing assertion).
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((next[0] < kPerLane || next[1] < kPerLane) && std::chrono::steady_clock::now() < give_up) {
    for (std::size_t lane = 0; lane < 2; ++lane) {
      positions[lane] = spool.read(lane, positions[lane], 100, [&](std::string_view p) {
        if (p != std::to_string(lane) + ":" + std::to_string(next[lane])) ++wrong;
        ++next[lane];
      });
    }
  }
  for (auto& t : writers) t.join();
  EXPECT_EQ(wrong, 0u);
  EXPECT_EQ(next, (std::vector<int>{kPerLane, kPerLane}));
  EXPECT_EQ(spool.stats().corrupt_tails, 0u);
}

}  // namespace
}  // namespace traffic::pipeline
