#include "traffic/lid/file_sink.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <cstring>
#include <ctime>
#include <stdexcept>

namespace traffic::lid {
namespace fs = std::filesystem;
namespace {

void fsync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

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
  std::uint64_t seconds = 0;
  std::uint64_t mb = 0;
  if (!url.option("rotate_seconds", seconds, 300) || seconds == 0 || seconds > 86400) {
    throw std::invalid_argument("rotate_seconds must be 1..86400");
  }
  if (!url.option("rotate_mb", mb, 128) || mb == 0 || mb > 65536) throw std::invalid_argument("rotate_mb must be 1..65536");
  settings.rotate_after = std::chrono::seconds(seconds);
  settings.rotate_bytes = mb << 20;
  if (const auto prefix = url.options.find("prefix"); prefix != url.options.end()) {
    if (prefix->second.empty() || prefix->second.find('/') != std::string::npos) {
      throw std::invalid_argument("prefix must be a non-empty file name part");
    }
    settings.prefix = prefix->second;
  }
  return settings;
}

bool gzip_and_replace(const fs::path& plain) {
  const int in = ::open(plain.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return false;
  off_t length = ::lseek(in, 0, SEEK_END);
  if (length > 0) {
    // Walk back to the last newline: a crash may have cut the last record short.
    char c = 0;
    while (length > 0 && (::pread(in, &c, 1, length - 1) != 1 || c != '\n')) --length;
  }
  const fs::path final_path = fs::path(plain.string() + ".gz");
  const fs::path tmp = fs::path(plain.string() + ".gz.tmp");
  const int out = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (out < 0) {
    ::close(in);
    return false;
  }
  // gzclose closes the descriptor it is given: hand it a duplicate, keep `out` to fsync.
  const int gz_fd = ::dup(out);
  gzFile gz = gz_fd >= 0 ? gzdopen(gz_fd, "wb6") : nullptr;
  bool ok = gz != nullptr;
  if (!ok && gz_fd >= 0) ::close(gz_fd);
  std::string chunk(1 << 20, '\0');
  off_t offset = 0;
  while (ok && offset < length) {
    const auto want = static_cast<std::size_t>(std::min<off_t>(length - offset, static_cast<off_t>(chunk.size())));
    const ssize_t got = ::pread(in, chunk.data(), want, offset);
    if (got <= 0) {
      ok = false;
      break;
    }
    ok = gzwrite(gz, chunk.data(), static_cast<unsigned>(got)) == static_cast<int>(got);
    offset += got;
  }
  if (gz != nullptr && gzclose(gz) != Z_OK) ok = false;
  ok = ok && ::fsync(out) == 0;
  ::close(out);
  ::close(in);
  if (!ok || ::rename(tmp.c_str(), final_path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return false;
  }
  fsync_directory(plain.parent_path());
  ::unlink(plain.c_str());
  fsync_directory(plain.parent_path());
  return true;
}

FileSink::FileSink(FileSinkSettings settings) : settings_(std::move(settings)) {
  std::error_code ec;
  fs::create_directories(settings_.directory, ec);
  if (ec) throw std::runtime_error("file sink " + settings_.directory.string() + ": " + ec.message());
  // An earlier run's leftovers: half-made .gz.tmp files go (their plain file is still
  // there); plain files of this prefix are closed.
  for (const auto& entry : fs::directory_iterator(settings_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(settings_.prefix + "-")) continue;
    if (name.ends_with(".ndjson.gz.tmp")) fs::remove(entry.path(), ec);
  }
  for (const auto& entry : fs::directory_iterator(settings_.directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(settings_.prefix + "-") && name.ends_with(".ndjson")) {
      if (!gzip_and_replace(entry.path())) {
        throw std::runtime_error("file sink " + settings_.directory.string() + ": cannot close " + name);
      }
    }
  }
  if (ec) throw std::runtime_error("file sink " + settings_.directory.string() + ": " + ec.message());
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

bool FileSink::open_file() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    path_ = settings_.directory / (settings_.prefix + "-" + utc_stamp() + "-" + std::to_string(++sequence_) + ".ndjson");
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ >= 0) break;
    if (errno != EEXIST) return false;
  }
  if (fd_ < 0) return false;
  fsync_directory(settings_.directory);
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
  // Should compressing fail (a full disk), the plain file stays and the next start closes it.
  if (gzip_and_replace(path_)) ++files_closed_;
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
