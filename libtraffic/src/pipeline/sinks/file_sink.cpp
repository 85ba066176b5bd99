#include "traffic/pipeline/sinks/file_sink.hpp"

#include "traffic/common/file.hpp"

#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace traffic::pipeline {
namespace fs = std::filesystem;
namespace {

// "20261123T101500.123Z": sorts in time order, unique enough with the sequence after it.
std::string utc_stamp(TimestampMs now) {
  const auto seconds = static_cast<std::time_t>(now / 1000);
  const auto ms = now % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  const std::size_t n = std::strftime(text, sizeof text, "%Y%m%dT%H%M%S", &tm);
  return std::string(text, n) + "." + std::to_string(1000 + ms).substr(1) + "Z";
}

}  // namespace

FileSinkSettings FileSinkSettings::from_url(const SinkUrl& url) {
  FileSinkSettings settings;
  settings.directory = url.target;
  settings.rotate_after = std::chrono::seconds(url.number("rotate_seconds", 300, 1, 86400));
  settings.rotate_bytes = url.number("rotate_mb", 128, 1, 65536) << 20;
  if (const auto compression = url.options.find("compression"); compression != url.options.end()) {
    if (compression->second == "gzip") {
      settings.compression = Compression::gzip;
    } else if (compression->second == "zstd") {
      settings.compression = Compression::zstd;
    } else if (compression->second == "none") {
      settings.compression = Compression::none;
    } else {
      throw std::invalid_argument("compression must be gzip, zstd or none");
    }
  }
  // gzip: ISA-L's levels 0-3 (docs/click-pipeline.md: speed and size); zstd: 1-19.
  const bool zstd = settings.compression == Compression::zstd;
  settings.level = static_cast<int>(url.number("level", 1, zstd ? 1 : 0, zstd ? 19 : 3));
  if (const auto prefix = url.options.find("prefix"); prefix != url.options.end()) {
    if (prefix->second.empty() || prefix->second.find('/') != std::string::npos) {
      throw std::invalid_argument("prefix must be a non-empty file name part");
    }
    settings.prefix = prefix->second;
  }
  return settings;
}

namespace {

constexpr std::string_view kPart = ".part";

std::string_view suffix_of(Compression compression) {
  switch (compression) {
    case Compression::gzip: return ".gz";
    case Compression::zstd: return ".zst";
    case Compression::none: return "";
  }
  return ".gz";
}

// Room for `more` bytes past `used` in `out`, returned as where they start.
unsigned char* room(std::string& out, std::size_t used, std::size_t more) {
  if (out.size() < used + more) out.resize(std::max(used + more, 2 * out.size()));
  return reinterpret_cast<unsigned char*>(out.data() + used);
}

}  // namespace

// One file's compressed stream, fed as records are taken. gzip is ISA-L's igzip: three
// times libdeflate's speed at level 1 with slightly smaller output (docs/benchmarks.md),
// and it streams, so a file is one ordinary gzip member built delivery by delivery.
class FileEncoder {
 public:
  FileEncoder(Compression compression, int level) : compression_(compression), level_(level) {
    if (compression_ == Compression::gzip) {
      static constexpr std::size_t kLevelBuffer[] = {ISAL_DEF_LVL0_DEFAULT, ISAL_DEF_LVL1_DEFAULT,
                                                     ISAL_DEF_LVL2_DEFAULT, ISAL_DEF_LVL3_DEFAULT};
      level_buffer_.resize(kLevelBuffer[std::clamp(level_, 0, 3)]);
    } else if (compression_ == Compression::zstd) {
      zstd_ = ZSTD_createCCtx();
      if (zstd_ == nullptr) throw std::bad_alloc();
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_compressionLevel, level_);
      ZSTD_CCtx_setParameter(zstd_, ZSTD_c_checksumFlag, 1);
    }
  }
  ~FileEncoder() { ZSTD_freeCCtx(zstd_); }
  FileEncoder(const FileEncoder&) = delete;
  FileEncoder& operator=(const FileEncoder&) = delete;

  /// Starts a new file. The buffer keeps its size: growing it again would zero-fill it.
  void start() {
    used_ = 0;
    if (compression_ == Compression::gzip) {
      isal_deflate_init(&gzip_);
      gzip_.gzip_flag = IGZIP_GZIP;
      gzip_.level = static_cast<std::uint32_t>(level_);
      gzip_.level_buf = level_buffer_.data();
      gzip_.level_buf_size = static_cast<std::uint32_t>(level_buffer_.size());
    } else if (compression_ == Compression::zstd) {
      ZSTD_CCtx_reset(zstd_, ZSTD_reset_session_only);
    }
  }
  /// Adds `text` to the file, compressed. False on a compressor error.
  bool add(std::string_view text) {
    constexpr std::size_t kPiece = 64 << 20;  // ISA-L counts its input and output in 32 bits
    for (; text.size() > kPiece; text.remove_prefix(kPiece)) {
      if (!step(text.substr(0, kPiece), false)) return false;
    }
    return step(text, false);
  }
  /// Ends the file's stream: file() is then the whole file.
  bool finish() { return step({}, true); }
  [[nodiscard]] std::string_view file() const noexcept { return {out_.data(), used_}; }

 private:
  bool step(std::string_view text, bool last) {
    switch (compression_) {
      case Compression::none:
        if (text.empty()) return true;  // (finish(): nothing to add, and no pointer to copy from)
        std::memcpy(room(out_, used_, text.size()), text.data(), text.size());
        used_ += text.size();
        return true;
      case Compression::gzip: {
        gzip_.next_in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(text.data()));
        gzip_.avail_in = static_cast<std::uint32_t>(text.size());
        gzip_.end_of_stream = last ? 1 : 0;
        gzip_.flush = NO_FLUSH;
        do {
          const std::size_t more = text.size() / 2 + (64 << 10);
          gzip_.next_out = room(out_, used_, more);
          gzip_.avail_out = static_cast<std::uint32_t>(more);
          if (isal_deflate(&gzip_) != COMP_OK) return false;
          used_ += more - gzip_.avail_out;
        } while (gzip_.avail_in > 0 || (last && gzip_.internal_state.state != ZSTATE_END));
        return true;
      }
      case Compression::zstd: {
        ZSTD_inBuffer in{text.data(), text.size(), 0};
        for (;;) {
          const std::size_t more = text.size() / 2 + ZSTD_CStreamOutSize();
          ZSTD_outBuffer to{room(out_, used_, more), more, 0};
          const std::size_t left = ZSTD_compressStream2(zstd_, &to, &in, last ? ZSTD_e_end : ZSTD_e_continue);
          if (ZSTD_isError(left)) return false;
          used_ += to.pos;
          if (last ? left == 0 : in.pos == in.size) return true;
        }
      }
    }
    return false;
  }

  Compression compression_;
  int level_;
  std::string out_;       // the file so far, then room
  std::size_t used_ = 0;  // bytes of the file in `out_`
  isal_zstream gzip_{};
  std::vector<std::uint8_t> level_buffer_;
  ZSTD_CCtx* zstd_ = nullptr;
};

namespace {

// Puts `bytes` in place as `path`: written to `path.tmp`, fsync'ed, renamed (never over an
// existing file: then `name_taken`), the directory synced. On failure nothing is left.
// 0 once written; else the errno of the step that failed (EEXIST: the name is taken).
int publish(const fs::path& path, std::string_view bytes) {
  const fs::path tmp = path.string() + ".tmp";
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (out < 0) return errno;
  int error = 0;
  if (!write_all(out, bytes.data(), bytes.size()) || ::fsync(out) != 0) error = errno != 0 ? errno : EIO;
  ::close(out);
  if (error == 0 && ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    sync_directory(path.parent_path());
    return 0;
  }
  if (error == 0) error = errno;
  ::unlink(tmp.c_str());
  return error;
}

}  // namespace

bool close_part_file(const fs::path& part, Compression compression, int level) {
  const std::string name = part.string();
  if (!name.ends_with(kPart)) return false;
  std::string text;
  try {
    text = read_file(part);
  } catch (const std::exception&) {
    return false;
  }
  // A crash may have cut the last record short: it ends at the last newline.
  const std::size_t last_newline = text.rfind('\n');
  text.resize(last_newline == std::string::npos ? 0 : last_newline + 1);
  FileEncoder encoder(compression, level);
  encoder.start();
  const fs::path final_path = name.substr(0, name.size() - kPart.size()) + std::string(suffix_of(compression));
  if (!encoder.add(text) || !encoder.finish() || publish(final_path, encoder.file()) != 0) return false;
  ::unlink(part.c_str());
  sync_directory(part.parent_path());
  return true;
}

FileSink::FileSink(FileSinkSettings settings)
    : settings_(std::move(settings)), encoder_(std::make_unique<FileEncoder>(settings_.compression, settings_.level)) {
  std::error_code ec;
  fs::create_directories(settings_.directory, ec);
  if (ec) throw std::runtime_error("file sink " + settings_.directory.string() + ": " + ec.message());
  // An earlier run's leftovers: half-written closed files (`.tmp`) go — their records are
  // still in the spool, behind the cursor — and parts of older versions are closed.
  std::vector<fs::path> parts;
  for (const auto& entry : fs::directory_iterator(settings_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(settings_.prefix + "-")) continue;
    if (name.ends_with(".tmp")) fs::remove(entry.path(), ec);
    if (name.ends_with(kPart)) parts.push_back(entry.path());
  }
  for (const auto& part : parts) {
    if (!close_part_file(part, settings_.compression, settings_.level)) {
      throw std::runtime_error("file sink " + settings_.directory.string() + ": cannot close " + part.string());
    }
  }
  if (ec) throw std::runtime_error("file sink " + settings_.directory.string() + ": " + ec.message());
}

FileSink::~FileSink() = default;

Result<> FileSink::close_file() {
  if (taken_bytes_ == 0) return {};
  taken_bytes_ = 0;
  if (!encoder_->finish())
    return Failure(Errc::io, "file sink " + settings_.directory.string() + ": compressor failed");
  for (int attempt = 0; attempt < 100; ++attempt) {
    const fs::path path =
        settings_.directory / (settings_.prefix + "-" + opened_stamp_ + "-" + std::to_string(++sequence_) + ".ndjson" +
                               std::string(suffix_of(settings_.compression)));
    const int error = publish(path, encoder_->file());
    if (error == 0) {
      ++files_closed_;
      return {};
    }
    // EEXIST: the name is an earlier run's file of the same millisecond; the next one is tried.
    if (error != EEXIST)
      return Failure(Errc::io, "file sink: cannot write " + path.string() + ": " + errno_text(error));
  }
  return Failure(Errc::io, "file sink " + settings_.directory.string() + ": no free file name");
}

Result<> FileSink::deliver(std::span<const std::string_view> records) {
  {
    if (taken_bytes_ == 0) {
      encoder_->start();
      opened_at_ = clock().now();
      opened_stamp_ = utc_stamp(opened_at_);
    }
    // The emitter's records lie back to back: runs of them go to the compressor at once.
    for (std::size_t i = 0; i < records.size();) {
      std::size_t size = records[i].size();
      std::size_t next = i + 1;
      while (next < records.size() && records[next].data() == records[i].data() + size) size += records[next++].size();
      if (!encoder_->add(std::string_view(records[i].data(), size))) {
        taken_bytes_ = 0;  // the open file is dropped; its records are offered again
        return Failure(Errc::io, "file sink " + settings_.directory.string() + ": compressor failed");
      }
      taken_bytes_ += size;
      i = next;
    }
  }
  if (taken_bytes_ >= settings_.rotate_bytes || old_enough()) return close_file();
  return {};
}

Result<> FileSink::idle() {
  if (taken_bytes_ > 0 && old_enough()) return close_file();
  return {};
}

const Clock& FileSink::clock() const noexcept {
  return clock_or_system(settings_.clock);
}

// The open file's age has reached rotate_after, or the clock went back (age unknown).
bool FileSink::old_enough() const noexcept {
  const TimestampMs now = clock().now();
  return now < opened_at_ ||
         now - opened_at_ >= std::chrono::duration_cast<std::chrono::milliseconds>(settings_.rotate_after).count();
}

Result<> FileSink::flush() {
  return close_file();
}

void FileSink::close() {
  (void)close_file();  // what could not be written stays in the spool for the next run
}

}  // namespace traffic::pipeline
