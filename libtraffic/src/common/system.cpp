#include "traffic/common/system.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <string>
#include <string_view>

namespace traffic {
namespace {

// The first word of a small file as an unsigned number; 0 when absent or not a number ("max").
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

namespace {

// The process's own cgroup directory for the memory controller, from /proc/self/cgroup:
// "0::<path>" (v2) or "<n>:…memory…:<path>" (v1). Under a cgroup namespace (containers) the
// path is "/", the mount's root.
std::string memory_cgroup(bool& v2) {
  std::ifstream in("/proc/self/cgroup");
  std::string v1_path;
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string_view controllers = std::string_view(line).substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (line.compare(0, first, "0") == 0 && controllers.empty()) {
      v2 = true;
      return path;
    }
    for (std::size_t at = 0; at <= controllers.size();) {
      const auto end = std::min(controllers.find(',', at), controllers.size());
      if (controllers.substr(at, end - at) == "memory") v1_path = path;
      at = end + 1;
    }
  }
  v2 = false;
  return v1_path;
}

}  // namespace

std::uint64_t cgroup_memory_limit_bytes() noexcept {
  try {
    bool v2 = false;
    const std::string own = memory_cgroup(v2);
    // v2: "max" when unlimited (read as 0); v1: a huge number when unlimited.
    const std::string root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
    const std::string name = v2 ? "/memory.max" : "/memory.limit_in_bytes";
    // The process's own group; its mount's root when that is not visible from here.
    std::uint64_t limit = number_in((root + own + name).c_str());
    if (limit == 0 && own != "/") limit = number_in((root + name).c_str());
    return limit >= (std::uint64_t{1} << 60) ? 0 : limit;
  } catch (...) {
    return 0;
  }
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
