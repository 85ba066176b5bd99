#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace traffic {

/// The text of an errno value, like strerror but safe from any thread.
std::string errno_text(int error);

/// Reads a whole file. Throws std::runtime_error naming the path (never the contents).
std::string read_file(const std::filesystem::path& path);

/// fsync()s a directory, so that files created, renamed or removed in it stay so after a
/// crash. Best effort: errors are ignored (the data's own fsync is what callers check).
void sync_directory(const std::filesystem::path& directory) noexcept;

/// write(2)s all of `size` bytes, retrying short writes and EINTR; false on an error.
bool write_all(int fd, const char* data, std::size_t size) noexcept;

/// What tells a replaced file from the one seen before: device, inode, size and
/// modification time. Files replaced by rename get a new inode, so a changed identity is a
/// reliable "reload me", and one stat() per poll is all it costs.
struct FileIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};
/// nullopt when the file cannot be stat()ed (missing, no permission).
std::optional<FileIdentity> file_identity(const std::string& path) noexcept;

}  // namespace traffic
