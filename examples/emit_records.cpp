// Example 5 — emitting records durably: the spool, the emitter and a file sink.
//
// trafficd answers a click only once its record is in the spool: an append-only log on
// local disk, written with one write(2) per event-loop turn. Sinks (files, HTTP collectors,
// Redis streams, …) read the spool on their own threads, each with its own cursor, and the
// cursor moves only once the sink has the records durably. A collector that is down, a disk
// that fills, a crash: records wait in the spool and are delivered later, at least once.
// Any service that must not lose what it acknowledges can reuse the same three pieces.
//
//   emit_records <spool dir> <output dir> [count]
//
// CMake:  find_package(traffic REQUIRED COMPONENTS pipeline lid)

#include <traffic/common/random.hpp>
#include <traffic/lid/lid.hpp>
#include <traffic/pipeline/emitter.hpp>
#include <traffic/pipeline/sinks/file_sink.hpp>
#include <traffic/pipeline/spool.hpp>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: emit_records <spool dir> <output dir> [count]\n";
    return 2;
  }
  int count = 1000;
  if (argc == 4) std::from_chars(argv[3], argv[3] + std::char_traits<char>::length(argv[3]), count);

  // 1. The spool. One lane per writing thread (lanes never share a lock); one cursor per
  //    sink, named here so that segments are kept until every sink has passed them. The disk
  //    bound (max_bytes) and its policy decide what happens when sinks fall far behind.
  //    Opening fails with an exception naming the directory (start-up may throw).
  traffic::pipeline::SpoolSettings spool_settings;
  spool_settings.directory = argv[1];
  spool_settings.lanes = 1;
  spool_settings.sinks = {"archive"};
  traffic::pipeline::Spool spool(spool_settings);

  // 2. The sink and the emitter. The file sink writes closed files only (temporary name,
  //    fsync, rename): a reader never sees half a file. Uncompressed here so you can read it;
  //    gzip (ISA-L) or zstd in production.
  traffic::pipeline::FileSinkSettings file_settings;
  file_settings.directory = argv[2];
  file_settings.prefix = "records";
  file_settings.compression = traffic::pipeline::Compression::none;
  std::vector<traffic::pipeline::Emitter::NamedSink> sinks;
  sinks.push_back({.name = "archive", .sink = std::make_unique<traffic::pipeline::FileSink>(file_settings)});
  traffic::pipeline::Emitter emitter(spool, std::move(sinks));
  emitter.start();

  // 3. Writing: build a record in the lane's buffer (one JSON line ending in '\n'), stage it,
  //    and flush the staged records in one write(2). A record is acknowledged only when
  //    flush() returned true; false means none of the staged records is in the spool (the
  //    disk is full, or the spool is at its bound with the `reject` policy).
  traffic::pipeline::Spool::Writer& writer = spool.writer(0);
  traffic::FastRandom random;
  int acknowledged = 0;
  for (int i = 0; i < count; ++i) {
    std::string& buffer = writer.buffer();
    buffer.append(R"({"event":"example","lid":")");
    buffer.append(traffic::lid::new_lid(random).view());
    buffer.append(R"(","n":)").append(std::to_string(i)).append("}\n");
    if (!writer.stage()) continue;  // refused: not acknowledged
    if (writer.staged() == 100 || i + 1 == count) {
      const auto staged = static_cast<int>(writer.staged());
      if (writer.flush()) acknowledged += staged;  // one write(2) for the batch
    }
  }

  // 4. Shutdown: the emitter delivers what the spool holds (for at most the drain time),
  //    the file sink closes its file, and the cursor moves past it. What a sink could not
  //    take would stay in the spool for the next run.
  emitter.stop(std::chrono::seconds(10));
  const auto stats = emitter.stats();
  std::cout << "acknowledged " << acknowledged << ", delivered " << stats.at(0).delivered << ", pending bytes "
            << stats.at(0).pending_bytes << "\n";

  std::size_t lines = 0;
  for (const auto& file : std::filesystem::directory_iterator(argv[2])) {
    std::ifstream in(file.path());
    for (std::string line; std::getline(in, line);) ++lines;
    std::cout << file.path().filename().string() << "\n";
  }
  std::cout << lines << " records in the output files\n";
  return lines == static_cast<std::size_t>(acknowledged) ? 0 : 1;
}
