// Sink URLs, the file sink and the emitter that feeds sinks from the spool.

#include <gtest/gtest.h>

#include <zlib.h>
#include <zstd.h>

#include <fstream>

#include "fake_clock.hpp"
#include "memory_sink.hpp"
#include "test_support.hpp"
#include "traffic/lid/emitter.hpp"
#include "traffic/lid/file_sink.hpp"
#include "traffic/lid/sink.hpp"

namespace traffic::lid {
namespace {

namespace fs = std::filesystem;

std::vector<SinkUrl> parse(std::vector<std::string> urls, std::string& error) {
  return parse_sink_urls(urls, error);
}

TEST(SinkUrls, EveryKindWithItsOptions) {
  std::string error;
  const auto sinks = parse({"file:///var/lib/trafficd/clicks#rotate_seconds=60&rotate_mb=16",
                            "file://relative/dir#name=archive", "https://collector.example:8443/ingest?x=1#batch=500",
                            "aggregator+https://aggregator.example/", "redis://:secret@127.0.0.1:6379/clicks"},
                           error);
  ASSERT_EQ(sinks.size(), 5U) << error;
  EXPECT_EQ(sinks[0].kind, SinkKind::file);
  EXPECT_EQ(sinks[0].name, "file");
  EXPECT_EQ(sinks[0].target, "/var/lib/trafficd/clicks");
  EXPECT_EQ(sinks[0].number("rotate_seconds", 0, 1, 100), 60U);
  EXPECT_EQ(sinks[0].number("absent", 7, 1, 100), 7U);
  EXPECT_THROW((void)sinks[0].number("rotate_seconds", 0, 1, 59), std::invalid_argument);
  EXPECT_EQ(sinks[1].target, "relative/dir");
  EXPECT_EQ(sinks[1].name, "archive");
  EXPECT_EQ(sinks[2].kind, SinkKind::http);
  EXPECT_EQ(sinks[2].target, "https://collector.example:8443/ingest?x=1");  // the fragment is ours, not sent
  EXPECT_EQ(sinks[3].kind, SinkKind::aggregator);
  EXPECT_EQ(sinks[3].target, "https://aggregator.example/");
  EXPECT_EQ(sinks[4].kind, SinkKind::redis);
  EXPECT_EQ(sinks[4].path, "/clicks");
}

TEST(SinkUrls, MalformedOnesAreRefusedWithOneLineAndNoSecret) {
  const std::vector<std::pair<std::string, std::string>> table = {
      {"clicks", "not a URL"},
      {"ftp://host/x", "unknown kind"},
      {"file://", "no directory"},
      {"http:///path", "no host"},
      {"https://user:hunter2@/x", "no host"},
      {"redis://127.0.0.1:6379", "no stream key"},
      {"redis://:hunter2@127.0.0.1:6379/", "no stream key"},
      {"file:///a#name=Bad Name", "name must be"},
      {"file:///a#=x", "malformed options"},
  };
  for (const auto& [url, reason] : table) {
    std::string error;
    EXPECT_TRUE(parse({url}, error).empty()) << url;
    EXPECT_NE(error.find(reason), std::string::npos) << url << " → " << error;
    EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
    EXPECT_EQ(error.find('\n'), std::string::npos);
  }
  std::string error;
  EXPECT_TRUE(parse({"file:///a", "file:///b"}, error).empty());
  EXPECT_NE(error.find("second sink named 'file'"), std::string::npos) << error;
  EXPECT_EQ(parse({"file:///a", "file:///b#name=b"}, error).size(), 2U) << error;
}

// ---- the file sink ----

std::vector<fs::path> files_in(const fs::path& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().string().ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string all_closed_lines(const fs::path& dir) {
  std::string text;
  for (const auto& f : files_in(dir, ".ndjson.gz")) text += test::gunzip_file(f);
  return text;
}

bool deliver(Sink& sink, std::vector<std::string> lines) {
  std::vector<std::string_view> views(lines.begin(), lines.end());
  return sink.deliver(views);
}

TEST(FileSink, DeliveriesAreHeldAndWrittenGzippedAtShutdown) {
  test::TempDir dir("file-sink");
  FileSinkSettings settings;
  settings.directory = dir.path() / "clicks";
  FileSink sink(settings);
  EXPECT_FALSE(sink.holding());
  ASSERT_TRUE(deliver(sink, {"{\"a\":1}\n", "{\"a\":2}\n"}));
  ASSERT_TRUE(deliver(sink, {"{\"a\":3}\n"}));
  // Held: nothing on disk yet (the records are still in the spool, behind the cursor).
  EXPECT_TRUE(sink.holding());
  EXPECT_TRUE(fs::is_empty(settings.directory));
  sink.close();
  EXPECT_FALSE(sink.holding());
  EXPECT_EQ(files_in(settings.directory, "").size(), 1U);  // no temporary file left
  EXPECT_EQ(all_closed_lines(settings.directory), "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n");
  EXPECT_EQ(sink.files_closed(), 1U);
  ASSERT_TRUE(sink.flush());  // nothing held: no empty file
  EXPECT_EQ(sink.files_closed(), 1U);
}

// Time is a parameter: files are named by the sink's clock and close when it says they are
// rotate_after old (or when it goes back, the age being unknown), not by the machine's.
TEST(FileSink, FilesAreNamedAndAgedByTheGivenClock) {
  test::TempDir dir("file-sink");
  test::FakeClock clock(*parse_iso8601("2026-11-23T10:15:00.123Z"));
  FileSinkSettings settings;
  settings.directory = dir.path();
  settings.rotate_after = std::chrono::seconds(60);
  settings.clock = &clock;
  FileSink sink(settings);
  ASSERT_TRUE(deliver(sink, {"{\"a\":1}\n"}));
  clock.advance(59'999);
  ASSERT_TRUE(sink.idle());
  EXPECT_TRUE(sink.holding());  // not old enough yet
  clock.advance(1);
  ASSERT_TRUE(sink.idle());
  EXPECT_FALSE(sink.holding());
  const auto files = files_in(dir.path(), ".ndjson.gz");
  ASSERT_EQ(files.size(), 1U);
  EXPECT_TRUE(files[0].filename().string().starts_with("clicks-20261123T101500.123Z")) << files[0];

  ASSERT_TRUE(deliver(sink, {"{\"a\":2}\n"}));
  clock.advance(-3'600'000);  // set back an hour
  ASSERT_TRUE(sink.idle());
  EXPECT_FALSE(sink.holding());
  EXPECT_EQ(all_closed_lines(dir.path()), "{\"a\":1}\n{\"a\":2}\n");  // named when opened: in order
}

// A file that cannot be written is dropped whole and said so: the emitter offers its
// records again from the spool. The sink goes on with the next file.
TEST(FileSink, AFileThatCannotBeWrittenIsDroppedAndReported) {
  test::TempDir dir("file-sink");
  FileSinkSettings settings;
  settings.directory = dir.path() / "clicks";
  FileSink sink(settings);
  ASSERT_TRUE(deliver(sink, {"{\"lost\":1}\n"}));
  fs::remove_all(settings.directory);
  EXPECT_FALSE(sink.flush());
  EXPECT_FALSE(sink.holding());
  fs::create_directories(settings.directory);
  ASSERT_TRUE(deliver(sink, {"{\"kept\":1}\n"}));
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(all_closed_lines(settings.directory), "{\"kept\":1}\n");
  // Past its size, a delivery that cannot be written is refused.
  settings.directory = dir.path() / "small";
  settings.rotate_bytes = 10;
  FileSink small(settings);
  ASSERT_TRUE(deliver(small, {"{\"a\":1}\n"}));
  fs::remove_all(settings.directory);
  EXPECT_FALSE(deliver(small, {"{\"a\":2}\n"}));
  EXPECT_FALSE(small.holding());
}

TEST(FileSink, RotatesBySize) {
  test::TempDir dir("file-sink");
  FileSinkSettings settings;
  settings.directory = dir.path();
  settings.rotate_bytes = 20;
  FileSink sink(settings);
  std::string expected;
  for (int i = 0; i < 10; ++i) {
    const std::string line = "{\"n\":" + std::to_string(i) + "}\n";  // 9 bytes: a file every 3 lines
    ASSERT_TRUE(deliver(sink, {line}));
    expected += line;
  }
  sink.close();
  EXPECT_EQ(files_in(dir.path(), ".ndjson.gz").size(), 4U);
  EXPECT_EQ(all_closed_lines(dir.path()), expected);  // names sort in the order written
}

// Older versions wrote the open file to disk as a `.part`; one left by a crash is closed.
TEST(FileSink, APartLeftByAnOlderVersionIsCutAtItsLastLineAndClosed) {
  test::TempDir dir("file-sink");
  const fs::path part = dir.path() / "clicks-20260101T000000.000Z-1.ndjson.part";
  std::ofstream(part) << "{\"a\":1}\n{\"a\":2}\n{\"a\":";
  std::ofstream(dir.path() / "clicks-20260101T000000.000Z-1.ndjson.gz.tmp") << "half a gzip";
  std::ofstream(dir.path() / "other.ndjson.part") << "not ours\n";
  FileSinkSettings settings;
  settings.directory = dir.path();
  FileSink sink(settings);
  EXPECT_FALSE(fs::exists(part));
  EXPECT_FALSE(fs::exists(dir.path() / "clicks-20260101T000000.000Z-1.ndjson.gz.tmp"));
  EXPECT_EQ(test::gunzip_file(dir.path() / "clicks-20260101T000000.000Z-1.ndjson.gz"), "{\"a\":1}\n{\"a\":2}\n");
  EXPECT_TRUE(fs::exists(dir.path() / "other.ndjson.part"));
}

// Closed gzip files are one ordinary gzip member (whatever reads gzip reads them: some
// readers stop after the first member) holding exactly the lines written, at every level,
// however the deliveries came.
TEST(FileSink, AClosedFileIsOneGzipMemberWithEveryLine) {
  for (const int level : {0, 1, 2, 3}) {
    test::TempDir dir("file-sink");
    FileSinkSettings settings;
    settings.directory = dir.path();
    settings.level = level;
    std::string expected;
    {
      FileSink sink(settings);
      for (int batch = 0; batch < 40; ++batch) {
        std::vector<std::string> lines;
        for (int i = 0; i < 1000; ++i) {
          const int n = batch * 1000 + i;
          lines.push_back("{\"lid\":\"" + std::to_string(static_cast<unsigned>(n) * 2654435761U) +
                          "\",\"n\":" + std::to_string(n) + "}\n");
          expected += lines.back();
        }
        if (batch % 2 == 0) {
          ASSERT_TRUE(deliver(sink, lines));
          continue;
        }
        // As the emitter passes them: views of lines lying back to back in one buffer.
        std::string arena;
        for (const auto& line : lines) arena += line;
        std::vector<std::string_view> views;
        for (std::size_t at = 0; at < arena.size(); at = arena.find('\n', at) + 1) {
          views.emplace_back(arena.data() + at, arena.find('\n', at) + 1 - at);
        }
        ASSERT_TRUE(sink.deliver(views));
      }
      sink.close();
    }
    const auto closed = files_in(dir.path(), ".ndjson.gz");
    ASSERT_EQ(closed.size(), 1U);
    const std::string packed = read_file(closed[0]);
    EXPECT_LT(packed.size(), expected.size() / 2) << level;
    std::string unpacked(expected.size() + 1, '\0');
    z_stream stream{};
    ASSERT_EQ(inflateInit2(&stream, 16 + MAX_WBITS), Z_OK);
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    stream.avail_in = static_cast<uInt>(packed.size());
    stream.next_out = reinterpret_cast<Bytef*>(unpacked.data());
    stream.avail_out = static_cast<uInt>(unpacked.size());
    EXPECT_EQ(inflate(&stream, Z_FINISH), Z_STREAM_END) << level;
    EXPECT_EQ(stream.avail_in, 0U) << "bytes after the first gzip member, level " << level;
    unpacked.resize(stream.total_out);
    inflateEnd(&stream);
    EXPECT_EQ(unpacked, expected) << level;
  }
  // A crash leftover without one complete line closes to an empty, valid gzip file.
  test::TempDir dir("file-sink");
  std::ofstream(dir.path() / "clicks-20260101T000000.000Z-1.ndjson.part") << "{\"a\":";
  FileSinkSettings settings;
  settings.directory = dir.path();
  FileSink sink(settings);
  EXPECT_EQ(test::gunzip_file(dir.path() / "clicks-20260101T000000.000Z-1.ndjson.gz"), "");
}

std::string unzstd_file(const fs::path& path) {
  const std::string packed = read_file(path);
  std::string out;
  ZSTD_DCtx* context = ZSTD_createDCtx();
  ZSTD_inBuffer in{packed.data(), packed.size(), 0};
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    const std::size_t rc = ZSTD_decompressStream(context, &o, &in);
    if (ZSTD_isError(rc)) break;
    out.append(chunk.data(), o.pos);
  }
  ZSTD_freeDCtx(context);
  return out;
}

TEST(FileSink, ZstdAndUncompressedFilesAreOffered) {
  std::string error;
  const auto urls =
      parse_sink_urls({"file:///unused#compression=zstd&level=3", "file:///unused#compression=none&name=b"}, error);
  ASSERT_EQ(urls.size(), 2U) << error;
  for (const auto& url : urls) {
    test::TempDir dir("file-sink");
    FileSinkSettings settings = FileSinkSettings::from_url(url);
    settings.directory = dir.path();
    FileSink sink(settings);
    std::string expected;
    for (int i = 0; i < 1000; ++i) {
      const std::string line = "{\"n\":" + std::to_string(i) + ",\"text\":\"some repeated text\"}\n";
      ASSERT_TRUE(deliver(sink, {line}));
      expected += line;
    }
    sink.close();
    if (settings.compression == Compression::zstd) {
      EXPECT_EQ(settings.level, 3);
      const auto files = files_in(dir.path(), ".ndjson.zst");
      ASSERT_EQ(files.size(), 1U);
      EXPECT_LT(fs::file_size(files[0]), expected.size() / 4);
      EXPECT_EQ(unzstd_file(files[0]), expected);
    } else {
      const auto files = files_in(dir.path(), ".ndjson");
      ASSERT_EQ(files.size(), 1U);
      EXPECT_EQ(read_file(files[0]), expected);
    }
    EXPECT_TRUE(files_in(dir.path(), ".part").empty());
  }
}

TEST(FileSink, BadOptionsAreRefused) {
  std::string error;
  for (const std::string url :
       {"file:///x#rotate_seconds=0", "file:///x#rotate_mb=abc", "file:///x#prefix=a/b", "file:///x#compression=lz4",
        "file:///x#level=4", "file:///x#compression=zstd&level=20", "file:///x#compression=zstd&level=0"}) {
    const auto sinks = parse_sink_urls({url}, error);
    ASSERT_EQ(sinks.size(), 1U) << error;
    EXPECT_THROW((void)FileSinkSettings::from_url(sinks[0]), std::invalid_argument) << url;
  }
}

// ---- the emitter ----

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
}  // namespace traffic::lid
