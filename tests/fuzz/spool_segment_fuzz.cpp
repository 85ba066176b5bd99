// Fuzzes the spool's reader with hostile segment files, as a crash, a bad disk or a stray
// writer could leave them. The input describes one or more segments of lane 0, piece by
// piece: well-framed records, records with a wrong checksum, cut records, raw bytes, and
// segment breaks (see build_segments). A spool is opened over them, every record is read,
// then one more is appended by this "run" and read.
// Checks: no crash; the records delivered are exactly those a plain reading of the framing
// gives ([u32 size][u32 CRC-32C][payload], each segment up to its first record that is not
// whole, checksummed and at most 1 MiB), in order; the new record follows them; every
// segment cut short is counted once in corrupt_tails.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/common/crc32c.hpp"
#include "traffic/pipeline/spool.hpp"

namespace {

namespace fs = std::filesystem;
constexpr std::uint32_t kMaxPayload = 1u << 20;

void put_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}
std::uint32_t get_u32(std::string_view in) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) value |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return value;
}

// Each piece starts with a byte: its low 3 bits say what follows, the rest a length n
// (0–31) of bytes taken from the input.
std::vector<std::string> build_segments(std::string_view input) {
  std::vector<std::string> segments(1);
  while (!input.empty()) {
    const auto op = static_cast<unsigned char>(input[0]);
    input.remove_prefix(1);
    const std::size_t n = std::min<std::size_t>(op >> 3, input.size());
    const std::string_view bytes = input.substr(0, n);
    input.remove_prefix(n);
    std::string& segment = segments.back();
    switch (op & 7) {
      case 0:
      case 1:  // a good record
        put_u32(segment, static_cast<std::uint32_t>(bytes.size()));
        put_u32(segment, traffic::crc32c(bytes.data(), bytes.size()));
        segment.append(bytes);
        break;
      case 2:  // a record whose checksum is off by one
        put_u32(segment, static_cast<std::uint32_t>(bytes.size()));
        put_u32(segment, traffic::crc32c(bytes.data(), bytes.size()) + 1);
        segment.append(bytes);
        break;
      case 3:  // a good record cut after n bytes
      {
        std::string record;
        put_u32(record, 40);
        const std::string payload(40, 'p');
        put_u32(record, traffic::crc32c(payload.data(), payload.size()));
        record += payload;
        segment.append(record.substr(0, n));
        break;
      }
      case 4:  // raw bytes
        segment.append(bytes);
        break;
      case 5:  // a header claiming a size from the bytes (huge, zero, past the end)
        segment.append(bytes.substr(0, std::min<std::size_t>(4, bytes.size())));
        break;
      default:  // the next segment
        if (segments.size() < 6) segments.emplace_back();
        break;
    }
  }
  return segments;
}

// What a reading of the framing gives: the whole records of a segment up to the first
// one that is not; `cut` is whether anything followed them.
std::vector<std::string> framed_records(std::string_view segment, bool& cut) {
  std::vector<std::string> out;
  while (segment.size() >= 8) {
    const std::uint32_t size = get_u32(segment);
    if (size == 0 || size > kMaxPayload || segment.size() - 8 < size) break;
    const std::string_view payload = segment.substr(8, size);
    if (traffic::crc32c(payload.data(), payload.size()) != get_u32(segment.substr(4))) break;
    out.emplace_back(payload);
    segment.remove_prefix(8 + size);
  }
  cut = !segment.empty();
  return out;
}

std::string segment_name(std::size_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(16 - digits.size(), '0') + digits + ".seg";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> segments = build_segments(input);
  static int run = 0;
  const fs::path dir =
      fs::temp_directory_path() / ("spool-segment-fuzz-" + std::to_string(::getpid()) + "-" + std::to_string(run++));
  fs::remove_all(dir);
  fs::create_directories(dir / "lane-0");
  std::vector<std::string> expected;
  std::uint64_t expected_cut = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    std::ofstream(dir / "lane-0" / segment_name(i + 1), std::ios::binary) << segments[i];
    bool cut = false;
    for (auto& record : framed_records(segments[i], cut)) expected.push_back(std::move(record));
    expected_cut += cut ? 1 : 0;
  }
  {
    traffic::pipeline::SpoolSettings settings;
    settings.directory = dir;
    settings.lanes = 1;
    settings.fsync_interval = std::chrono::milliseconds(0);
    settings.sinks = {"fuzz"};
    traffic::pipeline::Spool spool(settings);
    auto& writer = spool.writer(0);
    writer.buffer().append("written-after-the-fuzz");
    if (!writer.append()) std::abort();
    expected.emplace_back("written-after-the-fuzz");

    std::vector<std::string> got;
    traffic::pipeline::SpoolPosition position;
    for (;;) {
      const std::size_t before = got.size();
      position = spool.read(0, position, 3, [&](std::string_view payload) { got.emplace_back(payload); });
      if (got.size() == before) break;
    }
    if (got != expected) std::abort();
    if (spool.stats().corrupt_tails != expected_cut) std::abort();
  }
  fs::remove_all(dir);
  return 0;
}
