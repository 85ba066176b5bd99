#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace traffic {

/// Reads a whole file. Throws std::runtime_error naming the path (never the contents).
std::string read_file(const std::filesystem::path& path);

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
