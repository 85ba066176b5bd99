// What it costs to hand click records to the kernel, by method: the spool's floor
// (docs/benchmarks.md, "two more ways to the floor").
//
//   handoff_bench DIRECTORY [METHOD...]
//
// Writes one 64 MiB segment in DIRECTORY (on the file system the spool would use) with
// 1.6 KB records, 8 per write, paced at 130,000 records/s like the load benchmark, while a
// second thread flushes every 200 ms as the spool's fsync thread does. Prints CPU time
// per record of the writer (the request thread) and of the flushing thread. `none` does
// no writing: its writer figure is the cost of the paced loop itself, to subtract.
//
// Methods: none, write (a fresh segment preallocated with FALLOC_FL_KEEP_SIZE: what the
// spool does), recycled-write (a segment written before, its pages cached), mmap (a
// shared mapping of a preallocated segment), mmap-populated (the same, prefaulted with
// MADV_POPULATE_WRITE first, its cost printed apart), recycled-mmap.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "traffic/common/file.hpp"

namespace {

constexpr std::size_t kRecord = 1600;
constexpr std::size_t kPerWrite = 8;
constexpr std::size_t kSegment = 64u << 20;
constexpr std::size_t kWrites = kSegment / (kRecord * kPerWrite);
constexpr std::size_t kRecords = kWrites * kPerWrite;
constexpr double kRecordsPerSecond = 130000;

double thread_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_THREAD, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

double per_record_us(double seconds) {
  return seconds * 1e6 / static_cast<double>(kRecords);
}

// A segment whose blocks are written and whose pages are in the page cache, as a passed
// segment would be if it were reused instead of deleted.
bool write_old_segment(const std::string& path) {
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const std::string block(1u << 20, 'o');
  bool ok = true;
  for (std::size_t done = 0; ok && done < kSegment; done += block.size())
    ok = traffic::write_all(fd, block.data(), block.size());
  ok = ok && ::fdatasync(fd) == 0;
  ::close(fd);
  return ok;
}

int run(const std::string& directory, std::string_view method) {
  const std::string path = directory + "/handoff-bench.seg";
  const bool recycled = method.starts_with("recycled");
  const bool mapped = method.find("mmap") != std::string_view::npos;
  ::unlink(path.c_str());
  if (recycled && !write_old_segment(path)) {
    std::perror(path.c_str());
    return 1;
  }
  const int fd = ::open(path.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  if (!recycled && method != "none") {
    // A mapping needs the file's size to cover it; write(2) appends within KEEP_SIZE blocks.
    if (::fallocate(fd, mapped ? 0 : FALLOC_FL_KEEP_SIZE, 0, kSegment) != 0) {
      std::perror("fallocate");
      return 1;
    }
  }
  char* map = nullptr;
  if (mapped) {
    void* m = ::mmap(nullptr, kSegment, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      std::perror("mmap");
      return 1;
    }
    map = static_cast<char*>(m);
    if (method == "mmap-populated") {
      const double before = thread_cpu_seconds();
      if (::madvise(map, kSegment, MADV_POPULATE_WRITE) != 0) std::perror("madvise");
      std::printf("%-16s populating: %.3f us/record\n", std::string(method).c_str(),
                  per_record_us(thread_cpu_seconds() - before));
    }
  }

  std::vector<char> records(kRecord * kPerWrite, 'x');
  std::atomic<std::size_t> written{0};
  std::atomic<bool> done{false};
  double flusher_cpu = 0;
  std::thread flusher([&] {
    const double before = thread_cpu_seconds();
    std::size_t synced = 0;
    while (!done.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      const std::size_t upto = written.load();
      if (map != nullptr) {
        const std::size_t from = synced & ~std::size_t{4095};  // msync wants a page boundary
        ::msync(map + from, upto - from, MS_SYNC);
      } else {
        ::fdatasync(fd);
      }
      synced = upto;
    }
    flusher_cpu = thread_cpu_seconds() - before;
  });

  const double before = thread_cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  std::size_t offset = 0;
  for (std::size_t i = 0; i < kWrites; ++i) {
    if (method == "none") {
      // only the pacing
    } else if (map != nullptr) {
      std::memcpy(map + offset, records.data(), records.size());
    } else if (::pwrite(fd, records.data(), records.size(), static_cast<off_t>(offset)) !=
               static_cast<ssize_t>(records.size())) {
      std::perror("pwrite");
      break;
    }
    offset += records.size();
    written.store(offset);
    if (i % 16 != 15) continue;  // pace every 128 records
    const auto due =
        start + std::chrono::duration<double>(static_cast<double>((i + 1) * kPerWrite) / kRecordsPerSecond);
    std::this_thread::sleep_until(due);
  }
  const double writer_cpu = thread_cpu_seconds() - before;
  done.store(true);
  flusher.join();
  std::printf("%-16s writer %.3f us/record, flushing thread %.3f us/record\n", std::string(method).c_str(),
              per_record_us(writer_cpu), per_record_us(flusher_cpu));
  if (map != nullptr) ::munmap(map, kSegment);
  ::close(fd);
  ::unlink(path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY [none|write|recycled-write|mmap|mmap-populated|recycled-mmap...]\n",
                 argv[0]);
    return 2;
  }
  std::vector<std::string_view> methods(argv + 2, argv + argc);
  if (methods.empty()) methods = {"none", "write", "recycled-write", "mmap", "mmap-populated", "recycled-mmap"};
  for (const std::string_view method : methods) {
    if (run(argv[1], method) != 0) return 1;
  }
  return 0;
}
