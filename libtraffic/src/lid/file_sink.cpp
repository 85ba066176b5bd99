#include "traffic/lid/file_sink.hpp"

#include "traffic/common/file.hpp"

#include <fcntl.h>
#include <libdeflate.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <vector>

namespace traffic::lid {
namespace fs = std::filesystem;
namespace {

// "20261123T101500.123Z": sorts in time order, unique enough with the sequence after it.
std::string utc_stamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
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
  settings.level = static_cast<int>(url.number("level", 1, 1, settings.compression == Compression::zstd ? 19 : 9));
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

// A zstd frame streamed into `fd`.
class Zstd {
 public:
  Zstd(int fd, int level) : fd_(fd), context_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize(), '\0') {
    if (context_ != nullptr) {
      ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, level);
      ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);
    }
  }
  ~Zstd() { ZSTD_freeCCtx(context_); }
  Zstd(const Zstd&) = delete;
  Zstd& operator=(const Zstd&) = delete;
  bool write(const char* data, std::size_t size) { return step(data, size, ZSTD_e_continue); }
  bool finish() { return step(nullptr, 0, ZSTD_e_end); }

 private:
  bool step(const char* data, std::size_t size, ZSTD_EndDirective mode) {
    if (context_ == nullptr) return false;
    ZSTD_inBuffer in{data, size, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      const std::size_t left = ZSTD_compressStream2(context_, &out, &in, mode);
      if (ZSTD_isError(left) || !write_all(fd_, out_.data(), out.pos)) return false;
      if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) return true;
    }
  }
  int fd_;
  ZSTD_CCtx* context_;
  std::string out_;
};

// A read-only view of the first `length` bytes of a file (none for an empty one).
class MappedFile {
 public:
  MappedFile(int fd, std::size_t length) : length_(length) {
    if (length == 0) return;
    void* data = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE, fd, 0);
    if (data != MAP_FAILED) data_ = data;
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(data_, length_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  [[nodiscard]] bool ok() const { return length_ == 0 || data_ != nullptr; }
  [[nodiscard]] const void* data() const { return data_ != nullptr ? data_ : ""; }

 private:
  std::size_t length_;
  void* data_ = nullptr;
};

// gzip: libdeflate compresses the whole part in one call, twice as fast as zlib at the same
// level and ratio (docs/benchmarks.md), into one ordinary gzip member. It needs all of its
// output at once: it is written straight into the mapped temporary file, whose blocks are
// reserved first (a full disk then fails here instead of faulting the process while it
// writes through the mapping).
bool gzip_into(std::string_view text, int out, int level) {
  libdeflate_compressor* compressor = libdeflate_alloc_compressor(level);
  if (compressor == nullptr) return false;
  const std::size_t bound = libdeflate_gzip_compress_bound(compressor, text.size());
  void* output = ::posix_fallocate(out, 0, static_cast<off_t>(bound)) == 0
                     ? ::mmap(nullptr, bound, PROT_READ | PROT_WRITE, MAP_SHARED, out, 0)
                     : MAP_FAILED;
  std::size_t written = 0;
  if (output != MAP_FAILED) {
    written = libdeflate_gzip_compress(compressor, text.data(), text.size(), output, bound);
    ::munmap(output, bound);  // the caller's fsync writes the mapped pages
  }
  libdeflate_free_compressor(compressor);
  return written > 0 && ::ftruncate(out, static_cast<off_t>(written)) == 0;
}

bool zstd_into(std::string_view text, int out, int level) {
  Zstd sink(out, level);
  return sink.write(text.data(), text.size()) && sink.finish();
}

}  // namespace

bool close_part_file(const fs::path& part, Compression compression, int level) {
  const std::string name = part.string();
  if (!name.ends_with(kPart)) return false;
  const int in = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  off_t length = ::lseek(in, 0, SEEK_END);
  // Walk back to the last newline: a crash may have cut the last record short.
  char c = 0;
  while (length > 0 && (::pread(in, &c, 1, length - 1) != 1 || c != '\n')) --length;

  const fs::path final_path = name.substr(0, name.size() - kPart.size()) + std::string(suffix_of(compression));
  if (compression == Compression::none) {
    // Nothing to transform: cut, sync and rename in place (no second copy on disk).
    ::close(in);
    const int fd = ::open(part.c_str(), O_WRONLY | O_CLOEXEC);
    const bool ok = fd >= 0 && ::ftruncate(fd, length) == 0 && ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (!ok || ::rename(part.c_str(), final_path.c_str()) != 0) return false;
    sync_directory(part.parent_path());
    return true;
  }
  const fs::path tmp = final_path.string() + ".tmp";
  const int out = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);  // RDWR: gzip maps it
  if (out < 0) {
    ::close(in);
    return false;
  }
  bool ok = false;
  {
    // Both compressors read the part through one mapping: no copy through a buffer.
    const MappedFile input(in, static_cast<std::size_t>(length));
    if (input.ok()) {
      const std::string_view text(static_cast<const char*>(input.data()), static_cast<std::size_t>(length));
      ok = compression == Compression::gzip ? gzip_into(text, out, level) : zstd_into(text, out, level);
    }
  }
  ok = ok && ::fsync(out) == 0;
  ::close(out);
  ::close(in);
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  sync_directory(part.parent_path());
  ::unlink(part.c_str());
  sync_directory(part.parent_path());
  return true;
}

FileSink::FileSink(FileSinkSettings settings) : settings_(std::move(settings)) {
  std::error_code ec;
  fs::create_directories(settings_.directory, ec);
  if (ec) throw std::runtime_error("file sink " + settings_.directory.string() + ": " + ec.message());
  // An earlier run's leftovers: half-written closed files (`.tmp`) go — their part is still
  // there — and parts are closed.
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

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileSink::open_file() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = settings_.directory /
            (settings_.prefix + "-" + utc_stamp() + "-" + std::to_string(++sequence_) + ".ndjson" + std::string(kPart));
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ >= 0) break;
    if (errno != EEXIST) return false;
  }
  if (fd_ < 0) return false;
  sync_directory(settings_.directory);
  size_ = 0;
  opened_at_ = std::chrono::steady_clock::now();
  return true;
}

void FileSink::close_file() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (size_ == 0) {
    ::unlink(path_.c_str());
    return;
  }
  // Should compressing fail (a full disk), the part stays and the next start closes it.
  if (close_part_file(path_, settings_.compression, settings_.level)) ++files_closed_;
}

bool FileSink::deliver(std::span<const std::string_view> records) {
  if (fd_ < 0 && !open_file()) return false;
  buffer_.clear();
  for (const std::string_view record : records) buffer_.append(record);
  if (!write_all(fd_, buffer_.data(), buffer_.size()) || ::fdatasync(fd_) != 0) {
    // Undo a partial write, so the file holds whole lines only; offered again later.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) close_file();
    return false;
  }
  size_ += buffer_.size();
  if (size_ >= settings_.rotate_bytes || std::chrono::steady_clock::now() - opened_at_ >= settings_.rotate_after) {
    close_file();
  }
  return true;
}

void FileSink::idle() {
  if (fd_ >= 0 && std::chrono::steady_clock::now() - opened_at_ >= settings_.rotate_after) close_file();
}

void FileSink::close() {
  close_file();
}

}  // namespace traffic::lid
