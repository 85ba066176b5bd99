#pragma once
// What the process may use of the machine: its memory and its file descriptors. Read by the
// daemon's overload protection (docs/reliability.md).

#include <cstdint>

namespace traffic {

/// The process's resident memory in bytes (/proc/self/statm); 0 when it cannot be read.
[[nodiscard]] std::uint64_t resident_memory_bytes() noexcept;

/// The memory limit of the process's cgroup (v2 `memory.max`, or v1
/// `memory.limit_in_bytes`) in bytes; 0 when there is none or it cannot be read.
[[nodiscard]] std::uint64_t cgroup_memory_limit_bytes() noexcept;

/// Raises the soft limit of open files to the hard limit (as nginx's worker_rlimit_nofile
/// and Go's runtime do) and returns the soft limit in force afterwards.
std::uint64_t raise_open_files_limit() noexcept;

}  // namespace traffic
