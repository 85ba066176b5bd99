#include "traffic/common/system.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>

namespace traffic {
namespace {

// The first line of a small file as an unsigned number; nullopt-like 0 when absent or "max".
std::uint64_t number_in(const char* path) noexcept {
  try {
    std::ifstream in(path);
    std::string text;
    if (!(in >> text)) return 0;
    std::uint64_t value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc() && ptr == text.data() + text.size() ? value : 0;
  } catch (...) {
    return 0;
  }
}

}  // namespace

std::uint64_t resident_memory_bytes() noexcept {
  try {
    std::ifstream in("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    if (!(in >> size >> resident)) return 0;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  } catch (...) {
    return 0;
  }
}

std::uint64_t cgroup_memory_limit_bytes() noexcept {
  // cgroup v2 ("max" when unlimited: read as 0), then v1 (a huge number when unlimited).
  if (const std::uint64_t v2 = number_in("/sys/fs/cgroup/memory.max"); v2 != 0) return v2;
  const std::uint64_t v1 = number_in("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  return v1 >= (std::uint64_t{1} << 60) ? 0 : v1;
}

std::uint64_t raise_open_files_limit() noexcept {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 20 : limit.rlim_cur;
}

}  // namespace traffic
