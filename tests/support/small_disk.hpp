#pragma once
// A real small file system for tests of a full disk: a tmpfs of a given size, mounted by the
// test on a fresh directory and unmounted after. Mounting needs root (CI and the developers'
// machines run as root); elsewhere available() is false and the test is skipped, saying why.

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <string>

#include "test_support.hpp"

namespace traffic::test {

class SmallDisk {
 public:
  explicit SmallDisk(std::size_t bytes) : dir_("small-disk") {
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0755";
    mounted_ = ::mount("tmpfs", dir_.path().c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) == 0;
    if (!mounted_) error_ = errno;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  [[nodiscard]] bool available() const noexcept { return mounted_; }
  [[nodiscard]] std::string why_not() const {
    return "cannot mount a tmpfs (needs root): errno " + std::to_string(error_);
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return dir_.path(); }

  /// Fills what is left with a ballast file; returns the bytes it took.
  std::size_t fill() {
    const int fd = ::open((dir_.path() / "ballast").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    const std::string block(4096, 'b');
    std::size_t taken = 0;
    while (fd >= 0) {
      const ssize_t n = ::write(fd, block.data(), block.size());
      if (n <= 0) break;
      taken += static_cast<std::size_t>(n);
    }
    if (fd >= 0) ::close(fd);
    return taken;
  }
  /// Removes the ballast.
  void free() { std::filesystem::remove(dir_.path() / "ballast"); }

 private:
  TempDir dir_;
  bool mounted_ = false;
  int error_ = 0;
};

}  // namespace traffic::test
