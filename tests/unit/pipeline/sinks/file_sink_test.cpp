// The file sink: held records, rotation, compression, failures.

#include "traffic/pipeline/sinks/file_sink.hpp"

#include <gtest/gtest.h>

#include <zlib.h>
#include <zstd.h>

#include <fstream>

#include "closed_files.hpp"
#include "test_support.hpp"
#include "traffic/testing/fake_clock.hpp"

namespace traffic::pipeline {
namespace {

namespace fs = std::filesystem;
using test::all_closed_lines;
using test::files_in;

Result<> deliver(Sink& sink, std::vector<std::string> lines) {
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
  const auto urls =
      parse_sink_urls({"file:///unused#compression=zstd&level=3", "file:///unused#compression=none&name=b"}).value();
  ASSERT_EQ(urls.size(), 2U);
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
  for (const std::string url :
       {"file:///x#rotate_seconds=0", "file:///x#rotate_mb=abc", "file:///x#prefix=a/b", "file:///x#compression=lz4",
        "file:///x#level=4", "file:///x#compression=zstd&level=20", "file:///x#compression=zstd&level=0"}) {
    const auto sinks = parse_sink_urls({url}).value();
    ASSERT_EQ(sinks.size(), 1U);
    EXPECT_THROW((void)FileSinkSettings::from_url(sinks[0]), std::invalid_argument) << url;
  }
}

}  // namespace
}  // namespace traffic::pipeline
