#include "traffic/lid/file_sink.hpp"

#include "traffic/common/file.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>
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

// Streams `length` bytes of `in` through a compressor into `out`.
class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual bool write(const char* data, std::size_t size) = 0;
  virtual bool finish() = 0;
};

class Gzip final : public Compressor {
 public:
  Gzip(int fd, int level) {
    // gzclose closes the descriptor it is given: hand it a duplicate, the caller fsyncs `fd`.
    const int copy = ::dup(fd);
    const std::string mode = "wb" + std::to_string(level);
    gz_ = copy >= 0 ? gzdopen(copy, mode.c_str()) : nullptr;
    if (gz_ == nullptr && copy >= 0) ::close(copy);
  }
  ~Gzip() override {
    if (gz_ != nullptr) gzclose(gz_);
  }
  bool write(const char* data, std::size_t size) override {
    return gz_ != nullptr && gzwrite(gz_, data, static_cast<unsigned>(size)) == static_cast<int>(size);
  }
  bool finish() override {
    if (gz_ == nullptr) return false;
    const int rc = gzclose(gz_);
    gz_ = nullptr;
    return rc == Z_OK;
  }

 private:
  gzFile gz_ = nullptr;
};

class Zstd final : public Compressor {
 public:
  Zstd(int fd, int level) : fd_(fd), context_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize(), '\0') {
    if (context_ != nullptr) {
      ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, level);
      ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);
    }
  }
  ~Zstd() override { ZSTD_freeCCtx(context_); }
  bool write(const char* data, std::size_t size) override { return step(data, size, ZSTD_e_continue); }
  bool finish() override { return step(nullptr, 0, ZSTD_e_end); }

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

std::unique_ptr<Compressor> compressor(int fd, Compression compression, int level) {
  if (compression == Compression::zstd) return std::make_unique<Zstd>(fd, level);
  return std::make_unique<Gzip>(fd, level);  // `none` never gets here: its part is renamed
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
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return false;
  }
  bool ok = true;
  {
    const auto sink = compressor(out, compression, level);
    std::string chunk(1 << 20, '\0');
    for (off_t offset = 0; ok && offset < length;) {
      const auto want = static_cast<std::size_t>(std::min<off_t>(length - offset, static_cast<off_t>(chunk.size())));
      const ssize_t got = ::pread(in, chunk.data(), want, offset);
      ok = got > 0 && sink->write(chunk.data(), static_cast<std::size_t>(got));
      offset += got > 0 ? got : 0;
    }
    ok = ok && sink->finish();
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
