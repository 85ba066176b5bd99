#include "traffic/pipeline/spool.hpp"

#include "traffic/common/crc32c.hpp"
#include "traffic/common/file.hpp"
#include "traffic/common/hex.hpp"
#include "traffic/pipeline/sink.hpp"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace traffic::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t kHeaderSize = 8;
constexpr std::uint32_t kMaxPayload = 1u << 20;  // a click is ~2 KB; a larger size is corruption
// Reads go through a chunk small enough to stay in the cache while its records are checked
// and copied out; it grows for a record larger than itself (up to kMaxPayload).
constexpr std::size_t kReadChunk = 256u << 10;

std::runtime_error spool_error(const fs::path& where, std::string_view what) {
  return std::runtime_error("SPOOL_DIR=" + where.string() + ": " + std::string(what));
}

std::uint32_t crc_of(const char* data, std::size_t size) {
  return crc32c(data, size);
}

// Little-endian integers in the spool's files (record headers, cursor slots).
template <class Uint>
void put_le(char* out, Uint value) {
  for (std::size_t i = 0; i < sizeof(Uint); ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
}
template <class Uint>
Uint get_le(const char* in) {
  Uint value = 0;
  for (std::size_t i = 0; i < sizeof(Uint); ++i)
    value |= static_cast<Uint>(static_cast<unsigned char>(in[i])) << (8 * i);
  return value;
}
void put_u32(char* out, std::uint32_t value) {
  put_le(out, value);
}
std::uint32_t get_u32(const char* in) {
  return get_le<std::uint32_t>(in);
}

// Finished segments a lane keeps open for the fsync thread to flush and close.
constexpr std::size_t kMaxRetiredSegments = 16;

// The lane's next segment, created and given its blocks by the fsync thread: the writer
// only renames it into place. Appending into preallocated blocks spares the request thread
// ext4's block allocation, and its waits on the inode's allocation lock while writeback
// allocates the same file's delayed blocks (docs/benchmarks.md). Holds no records.
constexpr std::string_view kSpareName = "spare.tmp";

std::string segment_name(std::uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(16 - std::min<std::size_t>(16, digits.size()), '0') + digits + ".seg";
}

// Cursor files are written in place, into blocks they already own, so that moving a cursor
// never needs free space: on a full disk the sinks can still move past segments, and the
// segments they passed are deleted, which is what frees the disk. A file is two slots; each
// write goes to the slot the newest one is not in, and a reader takes the newest slot whose
// checksum holds, so a write torn by a crash leaves the previous cursor.
//   slot: "TCURSOR2" | u32 CRC-32C of everything after it up to the text's end | u32 text
//         size | u64 generation | text ("<lane> <segment> <offset>\n" per lane) | zeros
constexpr std::string_view kCursorMagic = "TCURSOR2";
constexpr std::size_t kCursorHeader = 24;

std::uint32_t slot_checksum(const char* slot, std::uint32_t text_size) {
  return crc_of(slot + 12, kCursorHeader - 12 + text_size);
}

std::size_t cursor_slot_size(std::size_t lanes) {
  const std::size_t needed = kCursorHeader + lanes * 64;  // a line is at most 4 + 20 + 20 + 3 bytes
  return (needed + 4095) / 4096 * 4096;
}

std::string cursor_text(const std::vector<SpoolPosition>& positions) {
  std::string text;
  for (std::size_t lane = 0; lane < positions.size(); ++lane) {
    text += std::to_string(lane) + ' ' + std::to_string(positions[lane].segment) + ' ' +
            std::to_string(positions[lane].offset) + '\n';
  }
  return text;
}

void parse_cursor_text(std::string_view text, std::vector<SpoolPosition>& positions) {
  std::istringstream in{std::string(text)};
  std::size_t lane = 0;
  SpoolPosition position;
  while (in >> lane >> position.segment >> position.offset) {
    if (lane < positions.size()) positions[lane] = position;
  }
}

std::string cursor_slot(std::uint64_t generation, std::string_view text, std::size_t slot_size) {
  std::string slot(slot_size, '\0');
  const auto size = static_cast<std::uint32_t>(text.size());
  std::memcpy(slot.data(), kCursorMagic.data(), kCursorMagic.size());
  put_u32(slot.data() + 12, size);
  put_le(slot.data() + 16, generation);
  std::memcpy(slot.data() + kCursorHeader, text.data(), text.size());
  put_u32(slot.data() + 8, slot_checksum(slot.data(), size));
  return slot;
}

// The cursor file written whole (temporary file, fsync, rename): the one step of a cursor
// that needs free space. Slot `generation % 2` holds `slot`, the other is empty. 0 or errno.
int replace_cursor_file(const fs::path& dir, std::string_view sink, std::uint64_t generation, const std::string& slot) {
  const std::string empty(slot.size(), '\0');
  const std::string content = generation % 2 == 0 ? slot + empty : empty + slot;
  const fs::path tmp = dir / (std::string(sink) + ".tmp");
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errno;
  int error = write_all(fd, content.data(), content.size()) && ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  if (error == 0 && ::rename(tmp.c_str(), (dir / sink).c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(tmp.c_str());
    return error;
  }
  sync_directory(dir);
  return 0;
}

// `slot` written in place as slot `generation % 2`, into blocks the file owns: no free space
// is needed. 0 or errno.
int write_cursor_slot(const fs::path& path, std::uint64_t generation, const std::string& slot) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const auto at = static_cast<off_t>((generation % 2) * slot.size());
  const bool ok =
      ::pwrite(fd, slot.data(), slot.size(), at) == static_cast<ssize_t>(slot.size()) && ::fdatasync(fd) == 0;
  const int error = ok ? 0 : errno;
  ::close(fd);
  return error;
}

// A cursor file's newest valid slot: its generation, or 0 when it has none (absent, or the
// text format of earlier versions, which `positions` is then read from).
std::uint64_t read_cursor_file(const fs::path& path, std::vector<SpoolPosition>& positions, std::size_t& slot_size) {
  slot_size = 0;
  std::string content;
  try {
    content = read_file(path);
  } catch (const std::exception&) {
    return 0;
  }
  const bool slotted = content.size() >= 2 * kCursorHeader && content.size() % 2 == 0 &&
                       (content.starts_with(kCursorMagic) ||
                        std::string_view(content).substr(content.size() / 2).starts_with(kCursorMagic));
  if (!slotted) {
    parse_cursor_text(content, positions);  // the earlier text format
    return 0;
  }
  slot_size = content.size() / 2;
  std::uint64_t best = 0;
  for (std::size_t at = 0; slot_size >= kCursorHeader && at + slot_size <= content.size(); at += slot_size) {
    const char* slot = content.data() + at;
    if (std::string_view(slot, 8) != kCursorMagic) continue;
    const std::uint32_t size = get_u32(slot + 12);
    const std::uint64_t generation = get_le<std::uint64_t>(slot + 16);
    if (size > slot_size - kCursorHeader || generation <= best) continue;
    if (slot_checksum(slot, size) != get_u32(slot + 8)) continue;
    std::vector<SpoolPosition> read(positions.size());
    parse_cursor_text(std::string_view(slot + kCursorHeader, size), read);
    positions = std::move(read);
    best = generation;
  }
  return best;
}

}  // namespace

struct Spool::Lane {
  fs::path directory;
  std::mutex mutex;                                 // segments, fd changes, the retired list
  std::mutex syncing;                               // one sync() of this lane at a time
  std::map<std::uint64_t, std::uint64_t> segments;  // seq → size at last count (current: see committed)
  int fd = -1;                                      // current segment of this process, or -1
  // Finished segments still open: sync() flushes and closes them, so the writer never waits
  // for the disk when it moves to a new segment.
  std::vector<int> retired;
  std::atomic<std::uint64_t> current{0};    // its seq; 0 = none open yet
  std::atomic<std::uint64_t> committed{0};  // bytes fully written to it
  std::atomic<bool> dirty{false};
  bool roll = false;  // a write failed: the next batch starts a new segment (writer only)
  std::uint64_t next_seq = 1;
  int spare_fd = -1;           // the prepared next segment (kSpareName), or -1
  std::uint64_t reserved = 0;  // bytes preallocated for the current segment (counted on disk)
};

namespace {

// The spool's identity (spool.hpp: `ID`): made once, kept for the spool's life. Written
// to a temporary file and renamed, so a crash leaves either no ID or a whole one.
std::string spool_id(const fs::path& dir) {
  const fs::path path = dir / "ID";
  std::error_code ec;
  if (fs::exists(path, ec)) {
    std::string id = read_file(path);
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    if (valid_sink_name(id)) return id;
  }
  unsigned char bytes[8];
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    throw spool_error(dir, "cannot make an ID: " + errno_text(errno));
  std::string id = to_hex(bytes, sizeof bytes);
  const fs::path temporary = dir / "ID.tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const std::string line = id + "\n";
  const bool written = fd >= 0 && write_all(fd, line.data(), line.size()) && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!written || ::rename(temporary.c_str(), path.c_str()) != 0)
    throw spool_error(dir, "cannot write ID: " + errno_text(errno));
  sync_directory(dir);
  return id;
}

}  // namespace

struct Spool::State {
  SpoolSettings settings;
  std::string id;
  int lock_fd = -1;
  std::vector<std::unique_ptr<Lane>> lanes;
  std::vector<std::unique_ptr<Writer>> writers;

  mutable std::mutex cursors_mutex;
  std::map<std::string, std::vector<SpoolPosition>, std::less<>> cursors;
  struct CursorFile {
    std::uint64_t generation = 0;  // of the newest slot; 0 = not in the slot format yet
    std::size_t slot_size = 0;
  };
  std::map<std::string, CursorFile, std::less<>> cursor_files;  // each touched only by its sink's commit()

  std::atomic<std::uint64_t> appended{0}, rejected{0}, dropped_segments{0}, corrupt_tails{0}, bytes_on_disk{0},
      fsyncs{0}, write_errors{0};
  std::atomic<int> last_write_errno{0};
  std::atomic<bool> directory_dirty{false};
  std::mutex syncing_directories;  // one sync of the directories at a time

  std::mutex sync_mutex;
  std::condition_variable sync_wake;
  bool stopping = false;
  std::thread syncer;
};

Spool::Spool(SpoolSettings settings) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.settings = std::move(settings);
  const fs::path& dir = s.settings.directory;
  if (dir.empty()) throw spool_error(dir, "no directory given");
  if (s.settings.lanes == 0 || s.settings.lanes > 1024) throw spool_error(dir, "lanes must be 1..1024");
  // Space is freed a whole finished segment at a time, and each lane's current segment is
  // never deleted: segments must be small against the bound, or a full spool could never
  // drain below it. At most a quarter of a lane's share of the bound (never below 64 KiB).
  s.settings.segment_bytes = std::min(s.settings.segment_bytes,
                                      std::max<std::uint64_t>(64 << 10, s.settings.max_bytes / (4 * s.settings.lanes)));
  for (const auto& sink : s.settings.sinks) {
    if (!valid_sink_name(sink)) throw spool_error(dir, "bad sink name '" + sink + "'");
  }
  std::error_code ec;
  fs::create_directories(dir / "cursors", ec);
  if (ec) throw spool_error(dir, "cannot create: " + ec.message());

  s.lock_fd = ::open((dir / "LOCK").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (s.lock_fd < 0) throw spool_error(dir, "cannot open LOCK: " + errno_text(errno));
  if (::flock(s.lock_fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(s.lock_fd);
    throw spool_error(dir, "in use by another process (LOCK is held)");
  }

  s.id = spool_id(dir);

  // Lanes: as many as configured, plus any left by an earlier run with more threads, so
  // their records are still read.
  std::size_t lane_count = s.settings.lanes;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::size_t n = 0;
    if (name.starts_with("lane-") &&
        std::from_chars(name.data() + 5, name.data() + name.size(), n).ptr == name.data() + name.size() && n < 1024)
      lane_count = std::max(lane_count, n + 1);
  }
  for (std::size_t i = 0; i < lane_count; ++i) {
    auto lane = std::make_unique<Lane>();
    lane->directory = dir / ("lane-" + std::to_string(i));
    fs::create_directories(lane->directory, ec);
    if (ec) throw spool_error(dir, "cannot create " + lane->directory.string() + ": " + ec.message());
    for (const auto& entry : fs::directory_iterator(lane->directory, ec)) {
      const std::string name = entry.path().filename().string();
      std::uint64_t seq = 0;
      if (!name.ends_with(".seg")) continue;
      const auto [ptr, err] = std::from_chars(name.data(), name.data() + name.size() - 4, seq);
      if (err != std::errc() || ptr != name.data() + name.size() - 4 || seq == 0) continue;
      const auto size = entry.file_size(ec);
      lane->segments[seq] = ec ? 0 : size;
      s.bytes_on_disk += ec ? 0 : size;
      lane->next_seq = std::max(lane->next_seq, seq + 1);
    }
    // After a crash: the spare goes, and the newest segment's preallocated blocks past its
    // end are given back (cutting a file to its own size frees them); it is never appended to.
    fs::remove(lane->directory / kSpareName, ec);
    if (!lane->segments.empty()) {
      const auto& [seq, size] = *lane->segments.rbegin();
      const int fd = ::open((lane->directory / segment_name(seq)).c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0) {
        (void)::ftruncate(fd, static_cast<off_t>(size));
        ::close(fd);
      }
    }
    s.lanes.push_back(std::move(lane));
  }
  for (std::size_t i = 0; i < lane_count; ++i) s.writers.push_back(std::unique_ptr<Writer>(new Writer(*this, i)));

  // Cursors of the configured sinks (a new sink starts at the beginning of what is kept).
  for (const auto& sink : s.settings.sinks) {
    std::vector<SpoolPosition> positions(lane_count);
    State::CursorFile file;
    file.generation = read_cursor_file(dir / "cursors" / sink, positions, file.slot_size);
    s.cursors[sink] = std::move(positions);
    s.cursor_files[sink] = file;
  }
  // Each cursor file in the slot format now, while the disk likely has room: from then on a
  // cursor moves without needing any (a full disk at start is retried by the first commit).
  for (const auto& sink : s.settings.sinks) {
    if (s.cursor_files[sink].generation != 0) continue;
    try {
      commit(sink, s.cursors[sink]);
    } catch (const std::runtime_error&) {
    }
  }

  if (s.settings.fsync_interval.count() > 0) {
    s.syncer = std::thread([this] {
      pthread_setname_np(pthread_self(), "spool-fsync");
      State& st = *state_;
      std::unique_lock lock(st.sync_mutex);
      while (!st.stopping) {
        st.sync_wake.wait_for(lock, st.settings.fsync_interval);
        lock.unlock();
        sync();
        prepare_spares();
        lock.lock();
      }
    });
  }
}

Spool::~Spool() {
  State& s = *state_;
  {
    std::lock_guard lock(s.sync_mutex);
    s.stopping = true;
  }
  s.sync_wake.notify_all();
  if (s.syncer.joinable()) s.syncer.join();
  sync();
  for (auto& lane : s.lanes) {
    if (lane->fd >= 0) {
      (void)::ftruncate(lane->fd, static_cast<off_t>(lane->committed.load()));  // frees unused preallocation
      ::close(lane->fd);
    }
    if (lane->spare_fd >= 0) {
      ::close(lane->spare_fd);
      fs::remove(lane->directory / kSpareName);
    }
  }
  ::close(s.lock_fd);  // releases the flock
}

Spool::Writer& Spool::writer(std::size_t lane) {
  return *state_->writers.at(lane);
}

bool Spool::Writer::stage() {
  const std::size_t size = batch_.size() - record_start_;
  if (size <= kHeaderSize || size - kHeaderSize > kMaxPayload || !spool_.admit(lane_, staged_bytes_ + size)) {
    spool_.state_->rejected.fetch_add(1, std::memory_order_relaxed);
    batch_.resize(staged_bytes_);
    return false;
  }
  char* record = batch_.data() + record_start_;
  const auto payload = static_cast<std::uint32_t>(size - kHeaderSize);
  put_u32(record, payload);
  put_u32(record + 4, crc_of(record + kHeaderSize, payload));
  staged_bytes_ = batch_.size();
  ++staged_;
  return true;
}

bool Spool::Writer::flush() {
  if (staged_ == 0) return true;
  const bool ok = spool_.write_batch(lane_, batch_.data(), staged_bytes_, staged_);
  batch_.clear();
  staged_bytes_ = 0;
  staged_ = 0;
  return ok;
}

// The disk bound: room for `bytes` more, making it by dropping old segments of this lane
// under `drop_oldest`.
bool Spool::admit(std::size_t lane_index, std::uint64_t bytes) {
  State& s = *state_;
  Lane& lane = *s.lanes[lane_index];
  // Bytes that land in the current segment's preallocation are on disk already.
  const std::uint64_t written = lane.committed.load(std::memory_order_relaxed);
  const std::uint64_t room = lane.reserved > written ? lane.reserved - written : 0;
  bytes = bytes > room ? bytes - room : 0;
  while (s.bytes_on_disk.load(std::memory_order_relaxed) + bytes > s.settings.max_bytes) {
    if (s.settings.full_policy != SpoolFullPolicy::drop_oldest) return false;
    std::lock_guard lock(lane.mutex);
    const std::uint64_t current = lane.current.load(std::memory_order_relaxed);
    auto oldest = lane.segments.begin();
    if (oldest == lane.segments.end() || oldest->first == current) return false;  // nothing left to drop
    std::error_code ec;
    fs::remove(lane.directory / segment_name(oldest->first), ec);
    s.bytes_on_disk.fetch_sub(oldest->second, std::memory_order_relaxed);
    lane.segments.erase(oldest);
    s.dropped_segments.fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

// Moves the lane to its next segment (the prepared spare, or a new file): false, counted,
// when none can be opened.
bool Spool::next_segment(std::size_t lane_index, std::uint64_t written) {
  State& s = *state_;
  Lane& lane = *s.lanes[lane_index];
  std::lock_guard lock(lane.mutex);
  const std::uint64_t seq = lane.next_seq;
  const fs::path path = lane.directory / segment_name(seq);
  int fd = -1;
  std::uint64_t reserved = 0;
  if (lane.spare_fd >= 0) {
    if (::rename((lane.directory / kSpareName).c_str(), path.c_str()) == 0) {
      fd = lane.spare_fd;
      reserved = s.settings.segment_bytes;
    } else {  // the spare is given up with its blocks; the next one is made later
      ::close(lane.spare_fd);
      ::unlink((lane.directory / kSpareName).c_str());
      s.bytes_on_disk.fetch_sub(s.settings.segment_bytes, std::memory_order_relaxed);
    }
    lane.spare_fd = -1;
  }
  if (fd < 0) fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    count_write_error(errno);
    return false;
  }
  if (lane.fd >= 0) {
    // The finished segment reaches the disk with the next sync, like every other record:
    // an fdatasync here stopped the request thread for 15–25 ms once per segment.
    lane.retired.push_back(lane.fd);
    lane.dirty.store(true, std::memory_order_relaxed);
    lane.segments[lane.current.load(std::memory_order_relaxed)] = written;
    if (lane.retired.size() > kMaxRetiredSegments) {
      // Segments fill faster than the disk takes them: this writer waits for the oldest.
      const int oldest = lane.retired.front();
      lane.retired.erase(lane.retired.begin());
      ::fdatasync(oldest);
      ::close(oldest);
    }
    s.sync_wake.notify_one();  // the fsync thread flushes it now rather than next interval
  }
  lane.fd = fd;
  lane.reserved = reserved;
  lane.next_seq = seq + 1;
  lane.segments[seq] = 0;
  lane.committed.store(0, std::memory_order_release);
  lane.current.store(seq, std::memory_order_release);
  s.directory_dirty.store(true, std::memory_order_relaxed);
  lane.roll = false;
  return true;
}

void Spool::count_write_error(int error) noexcept {
  state_->write_errors.fetch_add(1, std::memory_order_relaxed);
  state_->last_write_errno.store(error, std::memory_order_relaxed);
}

bool Spool::write_batch(std::size_t lane_index, const char* data, std::size_t size, std::size_t records) {
  State& s = *state_;
  Lane& lane = *s.lanes[lane_index];
  auto refuse = [&] {
    s.rejected.fetch_add(records, std::memory_order_relaxed);
    return false;
  };

  // A new segment for this process's first batch, past the segment size, and after a failed
  // write (a full disk): the segment it leaves behind can be deleted once the sinks have
  // passed it, which frees the disk; the current one never is. If no new one can be opened,
  // the current one stays in use (space may still free up inside its preallocation).
  const std::uint64_t written = lane.committed.load(std::memory_order_relaxed);
  if (lane.fd < 0 || written >= s.settings.segment_bytes || (lane.roll && written > 0)) {
    if (!next_segment(lane_index, written) && lane.fd < 0) return refuse();
  }

  const ssize_t n = ::write(lane.fd, data, size);
  if (n != static_cast<ssize_t>(size)) {
    // Out of space or an I/O error: undo a partial write so the segment stays readable.
    count_write_error(n < 0 ? errno : ENOSPC);  // a short write is the disk filling up
    if (n > 0 && ::ftruncate(lane.fd, static_cast<off_t>(lane.committed.load(std::memory_order_relaxed))) != 0) {
      // The reader will see a torn record and skip the rest of this segment.
    }
    lane.roll = true;
    // Without an fsync thread, the segment just left is closed here: a deleted segment
    // still open keeps its blocks.
    if (s.settings.fsync_interval.count() == 0) sync();
    return refuse();
  }
  const std::uint64_t before = lane.committed.fetch_add(size, std::memory_order_release);
  // Only what goes past the segment's preallocation adds to the disk in use.
  const std::uint64_t after = before + size;
  s.bytes_on_disk.fetch_add(after > lane.reserved ? after - std::max(before, lane.reserved) : 0,
                            std::memory_order_relaxed);
  s.appended.fetch_add(records, std::memory_order_relaxed);
  lane.dirty.store(true, std::memory_order_relaxed);
  if (s.settings.fsync_interval.count() == 0) sync();
  return true;
}

void Spool::sync() {
  State& s = *state_;
  // Each flag is taken while holding its sync mutex: a sync() that finds the flag cleared
  // by one still flushing (the fsync thread's) waits for it, so none returns before the
  // records written before it are on disk.
  {
    std::lock_guard syncing(s.syncing_directories);
    if (s.directory_dirty.exchange(false)) {
      for (auto& lane : s.lanes) sync_directory(lane->directory);
    }
  }
  for (auto& lane : s.lanes) {
    // The disk is waited for outside the lane's mutex, which the writer takes to change
    // segments. The fd stays valid: only sync() closes a retired one, one sync at a time.
    std::lock_guard syncing(lane->syncing);
    if (!lane->dirty.exchange(false)) continue;
    int fd = -1;
    std::vector<int> retired;
    {
      std::lock_guard lock(lane->mutex);
      fd = lane->fd;
      retired.swap(lane->retired);
    }
    for (const int old : retired) {
      if (::fdatasync(old) == 0) s.fsyncs.fetch_add(1, std::memory_order_relaxed);
      ::close(old);
    }
    if (fd >= 0 && ::fdatasync(fd) == 0) s.fsyncs.fetch_add(1, std::memory_order_relaxed);
  }
}

void Spool::prepare_spares() {
  State& s = *state_;
  for (std::size_t i = 0; i < s.settings.lanes; ++i) {
    Lane& lane = *s.lanes[i];
    {
      std::lock_guard lock(lane.mutex);
      if (lane.spare_fd >= 0) continue;
    }
    // Within the disk bound only: the preallocation counts as written.
    if (s.bytes_on_disk.load(std::memory_order_relaxed) + s.settings.segment_bytes > s.settings.max_bytes) continue;
    const fs::path path = lane.directory / kSpareName;
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) continue;
    if (::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, static_cast<off_t>(s.settings.segment_bytes)) != 0) {
      ::close(fd);  // no space, or a file system without fallocate: the writer opens its own
      ::unlink(path.c_str());
      continue;
    }
    s.bytes_on_disk.fetch_add(s.settings.segment_bytes, std::memory_order_relaxed);
    std::lock_guard lock(lane.mutex);
    lane.spare_fd = fd;
  }
}

SpoolPosition Spool::read(std::size_t lane_index, SpoolPosition from, ReadBudget& budget,
                          const std::function<void(std::string_view)>& deliver) {
  return read_positioned(lane_index, from, budget, [&](std::string_view payload, SpoolPosition) { deliver(payload); });
}

SpoolPosition Spool::read_positioned(std::size_t lane_index, SpoolPosition from, ReadBudget& budget,
                                     const std::function<void(std::string_view, SpoolPosition)>& deliver) {
  State& s = *state_;
  Lane& lane = *s.lanes.at(lane_index);
  SpoolPosition pos = from;
  std::string chunk;

  // The first segment at or after `seq` that still exists; 0 when none.
  auto segment_from = [&](std::uint64_t seq) -> std::uint64_t {
    std::lock_guard lock(lane.mutex);
    auto it = lane.segments.lower_bound(seq);
    return it == lane.segments.end() ? 0 : it->first;
  };

  while (!budget.spent) {
    // The segment to read (the first at or after the position that still exists), whether
    // it is the one being written, and then its committed size, all under the lane's mutex:
    // the writer resets the size and moves to the next segment under it, and read apart, a
    // reader could take the new segment's size for this one's and see a torn record where
    // there is none.
    bool live = false;
    std::uint64_t limit = 0;
    {
      std::lock_guard lock(lane.mutex);
      const auto existing = lane.segments.lower_bound(std::max<std::uint64_t>(pos.segment, 1));
      if (existing == lane.segments.end()) return pos;
      if (existing->first != pos.segment) pos = {existing->first, 0};  // a new sink, or a dropped segment
      live = lane.current.load(std::memory_order_relaxed) == pos.segment;
      if (live) limit = lane.committed.load(std::memory_order_acquire);
    }
    // Up to the committed size in the segment this process is writing; to its end otherwise.
    const int fd = ::open((lane.directory / segment_name(pos.segment)).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return pos;  // deleted meanwhile; the next call finds the next one
    if (!live) {
      struct stat st {};
      limit = ::fstat(fd, &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
    }

    // Records wholly inside [offset, limit) are delivered; anything that cannot be a whole
    // record ending by `limit` (a torn write, a flipped bit) makes the rest of it "torn".
    bool torn = false;
    std::size_t chunk_size = kReadChunk;
    while (!budget.spent && pos.offset < limit) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(limit - pos.offset, chunk_size));
      chunk.resize(want);
      const ssize_t got = ::pread(fd, chunk.data(), want, static_cast<off_t>(pos.offset));
      if (got <= 0) break;
      const auto available = static_cast<std::size_t>(got);
      const bool reaches_limit = pos.offset + available >= limit;
      std::size_t used = 0;
      std::size_t needed = 0;  // a record that does not fit in the chunk
      for (;;) {
        const std::size_t rest = available - used;
        if (rest < kHeaderSize) {
          torn = rest > 0 && reaches_limit;
          break;
        }
        const std::uint32_t size = get_u32(chunk.data() + used);
        if (size == 0 || size > kMaxPayload || pos.offset + used + kHeaderSize + size > limit) {
          torn = true;
          break;
        }
        if (rest - kHeaderSize < size) {  // continues past this chunk: read again from here
          needed = kHeaderSize + size;
          break;
        }
        const char* payload = chunk.data() + used + kHeaderSize;
        if (crc_of(payload, size) != get_u32(chunk.data() + used + 4)) {
          torn = true;
          break;
        }
        if (!budget.admits(size)) {
          budget.spent = true;
          break;
        }
        used += kHeaderSize + size;
        deliver(std::string_view(payload, size), SpoolPosition{pos.segment, pos.offset + used});
        ++budget.records;
        budget.bytes += size;
      }
      pos.offset += used;
      if (used == 0 && !torn && needed > chunk_size) {
        chunk_size = needed;  // read again, the whole record at once
        continue;
      }
      if (torn || used == 0) break;
    }
    ::close(fd);

    if (live && !torn) return pos;                // the writer may add more
    if (pos.offset < limit && !torn) return pos;  // stopped by the budget
    // Finished (or torn): move to the next segment, if there is one yet.
    const std::uint64_t next = segment_from(pos.segment + 1);
    if (next == 0) return pos;
    if (torn) s.corrupt_tails.fetch_add(1, std::memory_order_relaxed);
    pos = {next, 0};
  }
  return pos;
}

std::vector<SpoolPosition> Spool::cursor(std::string_view sink) const {
  std::lock_guard lock(state_->cursors_mutex);
  auto it = state_->cursors.find(sink);
  if (it == state_->cursors.end()) throw std::invalid_argument("unknown sink " + std::string(sink));
  return it->second;
}

Result<> Spool::commit(std::string_view sink, const std::vector<SpoolPosition>& positions) {
  State& s = *state_;
  const fs::path dir = s.settings.directory / "cursors";
  State::CursorFile* file = nullptr;
  {
    std::lock_guard lock(s.cursors_mutex);
    const auto found = s.cursor_files.find(sink);
    if (found == s.cursor_files.end()) return Failure(Errc::invalid_input, "unknown sink " + std::string(sink));
    file = &found->second;
  }
  const std::string text = cursor_text(positions);
  const std::uint64_t generation = file->generation + 1;
  // A new file in the slot format (the first commit, the earlier text format, more lanes) is
  // written whole; otherwise the slot the newest cursor is not in is written in place.
  const bool whole = file->generation == 0 || kCursorHeader + text.size() > file->slot_size;
  const std::size_t slot_size = whole ? std::max(cursor_slot_size(positions.size()), file->slot_size) : file->slot_size;
  const std::string slot = cursor_slot(generation, text, slot_size);
  const int error =
      whole ? replace_cursor_file(dir, sink, generation, slot) : write_cursor_slot(dir / sink, generation, slot);
  if (error == ENOENT && !whole) file->generation = 0;  // removed from under us: the next commit writes it whole
  if (error != 0)
    return Failure(Errc::io, s.settings.directory.string() + ": cannot write cursor: " + errno_text(error));
  file->generation = generation;
  file->slot_size = slot_size;

  // Segments every sink has moved past are deleted (never the one being written).
  std::vector<std::uint64_t> passed(s.lanes.size(), UINT64_MAX);
  {
    std::lock_guard lock(s.cursors_mutex);
    s.cursors[std::string(sink)] = positions;
    for (const auto& [name, cursor] : s.cursors) {
      for (std::size_t lane = 0; lane < passed.size(); ++lane) {
        passed[lane] = std::min(passed[lane], lane < cursor.size() ? cursor[lane].segment : 0);
      }
    }
  }
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    Lane& lane = *s.lanes[i];
    std::lock_guard lock(lane.mutex);
    const std::uint64_t current = lane.current.load(std::memory_order_relaxed);
    for (auto it = lane.segments.begin(); it != lane.segments.end() && it->first < passed[i];) {
      if (it->first == current) break;
      std::error_code ec;
      fs::remove(lane.directory / segment_name(it->first), ec);
      s.bytes_on_disk.fetch_sub(it->second, std::memory_order_relaxed);
      it = lane.segments.erase(it);
    }
  }
  return {};
}

std::uint64_t Spool::pending_bytes(const std::vector<SpoolPosition>& positions) const {
  const State& s = *state_;
  std::uint64_t pending = 0;
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    Lane& lane = *s.lanes[i];
    const SpoolPosition from = i < positions.size() ? positions[i] : SpoolPosition{};
    std::lock_guard lock(lane.mutex);
    const std::uint64_t current = lane.current.load(std::memory_order_relaxed);
    for (auto it = lane.segments.lower_bound(from.segment); it != lane.segments.end(); ++it) {
      const std::uint64_t size = it->first == current ? lane.committed.load(std::memory_order_relaxed) : it->second;
      const std::uint64_t skip = it->first == from.segment ? from.offset : 0;
      pending += size > skip ? size - skip : 0;
    }
  }
  return pending;
}

std::vector<SpoolPosition> Spool::written() const {
  const State& s = *state_;
  std::vector<SpoolPosition> ends(s.lanes.size());
  for (std::size_t i = 0; i < s.lanes.size(); ++i) {
    Lane& lane = *s.lanes[i];
    std::lock_guard lock(lane.mutex);  // the segment and its size together (see read())
    ends[i] = {lane.current.load(std::memory_order_relaxed), lane.committed.load(std::memory_order_acquire)};
  }
  return ends;
}

std::size_t Spool::lanes() const noexcept {
  return state_->lanes.size();
}

const std::string& Spool::id() const noexcept {
  return state_->id;
}

const SpoolSettings& Spool::settings() const noexcept {
  return state_->settings;
}

SpoolStats Spool::stats() const {
  const State& s = *state_;
  SpoolStats out;
  out.appended = s.appended.load(std::memory_order_relaxed);
  out.rejected = s.rejected.load(std::memory_order_relaxed);
  out.write_errors = s.write_errors.load(std::memory_order_relaxed);
  out.last_write_errno = s.last_write_errno.load(std::memory_order_relaxed);
  out.dropped_segments = s.dropped_segments.load(std::memory_order_relaxed);
  out.corrupt_tails = s.corrupt_tails.load(std::memory_order_relaxed);
  out.bytes_on_disk = s.bytes_on_disk.load(std::memory_order_relaxed);
  out.fsyncs = s.fsyncs.load(std::memory_order_relaxed);
  return out;
}

}  // namespace traffic::pipeline
