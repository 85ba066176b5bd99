#include "traffic/lid/redis_unique_visits.hpp"

#include <algorithm>
#include <charconv>

#include "traffic/common/hex.hpp"
#include "traffic/common/random.hpp"

namespace traffic::lid {

namespace {

// Production fingerprints are 16 hex digits; a longer one (a library user's own) is
// answered locally but not shared.
constexpr std::size_t kMaxFingerprint = 32;
constexpr std::size_t kBuckets = 16;

struct Visit {
  std::array<char, kMaxFingerprint> fingerprint{};
  std::uint8_t length = 0;
  bool stored = false;  // the SET NX was answered; only the XADD is left
  recipe::RecordId campaign = 0;
  TimestampMs at = 0;

  [[nodiscard]] std::string_view fp() const noexcept { return {fingerprint.data(), length}; }
};

template <typename Integer>
bool parse_integer(std::string_view text, Integer& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

struct RedisUniqueVisits::State {
  State(redis::Endpoint endpoint, RedisUniqueVisitsSettings s)
      : settings(std::move(s)),
        local(settings.max_visits, settings.window),
        window_ms(std::chrono::duration_cast<std::chrono::milliseconds>(settings.window).count()),
        connection(std::move(endpoint)),
        stream(settings.key_prefix + "fp:recent"),
        max_length(std::to_string(settings.max_visits)),
        read_count(std::to_string(settings.read_batch)) {
    FastRandom random;
    const std::uint64_t id = random.next();
    instance = to_hex(&id, sizeof id);
  }

  RedisUniqueVisitsSettings settings;
  InMemoryUniqueVisits local;
  TimestampMs window_ms;

  // Visits found new by request threads, one bucket per thread (round-robin), so request
  // threads do not contend with each other.
  struct Bucket {
    std::mutex mutex;
    std::vector<Visit> visits;
  };
  std::array<Bucket, kBuckets> buckets;
  std::atomic<std::size_t> next_bucket{0};
  std::atomic<std::uint64_t> unshared{0};

  // The background exchange (one at a time) and its reused buffers.
  std::mutex sync_mutex;
  redis::Connection connection;
  std::string stream;
  std::string max_length;
  std::string read_count;
  std::string instance;
  std::string cursor = "0-0";  // the last stream entry read; a new instance reads it all
  std::vector<Visit> batch;    // being written; what a failed exchange leaves stays here
  std::vector<Visit> incoming;
  std::string key;
  std::string value;
  std::vector<redis::Reply> replies;

  redis::ExchangeHealth health;
  std::atomic<std::uint64_t> conflicts{0};
  std::atomic<std::uint64_t> learned{0};
  std::atomic<std::uint64_t> dropped{0};

  Bucket& my_bucket() {
    thread_local std::size_t index = kBuckets;  // per thread, first use picks one
    thread_local const State* owner = nullptr;
    if (owner != this) {
      owner = this;
      index = next_bucket.fetch_add(1, std::memory_order_relaxed) % kBuckets;
    }
    return buckets[index];
  }

  // Moves the queued visits into `batch`, forgetting those whose window has passed.
  void collect(TimestampMs now) {
    for (Bucket& bucket : buckets) {
      incoming.clear();
      {
        std::lock_guard lock(bucket.mutex);
        incoming.swap(bucket.visits);
      }
      batch.insert(batch.end(), incoming.begin(), incoming.end());
    }
    const auto expired = std::erase_if(batch, [&](const Visit& v) { return v.at + window_ms <= now; });
    unshared.fetch_sub(expired, std::memory_order_relaxed);
  }

  // Applies one XREAD reply: remembers the other instances' visits, moves the cursor.
  // Returns the number of entries read.
  std::size_t apply_read(const redis::Reply& reply, TimestampMs now) {
    if (reply.type != redis::Reply::Type::array || reply.elements.empty()) return 0;  // nil: nothing new
    const redis::Reply& stream_reply = reply.elements[0];
    if (stream_reply.elements.size() < 2) return 0;
    std::size_t count = 0;
    for (const redis::Reply& entry : stream_reply.elements[1].elements) {
      if (entry.elements.size() < 2) continue;
      cursor = entry.elements[0].text;
      ++count;
      const auto& fields = entry.elements[1].elements;
      for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
        if (fields[i].text == "v") learn(fields[i + 1].text, now);
      }
    }
    return count;
  }

  // "<fingerprint>-<campaign> <ms> <instance>"; anything else is skipped.
  void learn(std::string_view entry, TimestampMs now) {
    const auto first_space = entry.find(' ');
    const auto second_space = entry.find(' ', first_space + 1);
    if (first_space == std::string_view::npos || second_space == std::string_view::npos) return;
    if (entry.substr(second_space + 1) == instance) return;  // our own
    const std::string_view visit = entry.substr(0, first_space);
    const auto dash = visit.rfind('-');
    recipe::RecordId campaign = 0;
    TimestampMs at = 0;
    if (dash == std::string_view::npos || !parse_integer(visit.substr(dash + 1), campaign) ||
        !parse_integer(entry.substr(first_space + 1, second_space - first_space - 1), at)) {
      return;
    }
    if (at + window_ms <= now) return;  // its day is over
    local.remember(visit.substr(0, dash), campaign, at, now);
    learned.fetch_add(1, std::memory_order_relaxed);
  }
};

RedisUniqueVisits::RedisUniqueVisits(redis::Endpoint endpoint, RedisUniqueVisitsSettings settings)
    : state_(std::make_unique<State>(std::move(endpoint), std::move(settings))) {}

RedisUniqueVisits::~RedisUniqueVisits() {
  stop();
}

bool RedisUniqueVisits::first_visit(std::string_view fingerprint, recipe::RecordId campaign, TimestampMs now) {
  State& st = *state_;
  if (!st.local.first_visit(fingerprint, campaign, now)) return false;
  if (fingerprint.size() > kMaxFingerprint) return true;
  if (st.unshared.fetch_add(1, std::memory_order_relaxed) >= st.settings.max_unshared) {
    st.unshared.fetch_sub(1, std::memory_order_relaxed);
    st.dropped.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  Visit visit;
  std::copy(fingerprint.begin(), fingerprint.end(), visit.fingerprint.begin());
  visit.length = static_cast<std::uint8_t>(fingerprint.size());
  visit.campaign = campaign;
  visit.at = now;
  State::Bucket& bucket = st.my_bucket();
  std::lock_guard lock(bucket.mutex);
  bucket.visits.push_back(visit);
  return true;
}

Result<> RedisUniqueVisits::sync(TimestampMs now) {
  State& st = *state_;
  std::lock_guard lock(st.sync_mutex);
  st.collect(now);

  // append() copies its arguments: one set of reused strings serves every visit.
  std::string& key = st.key;
  std::string& value = st.value;
  for (const Visit& v : st.batch) {
    char campaign[24];
    char at[24];
    char lifetime[24];
    const auto text = [](char* digits, auto number) {
      return std::string_view(digits,
                              static_cast<std::size_t>(std::to_chars(digits, digits + 24, number).ptr - digits));
    };
    const std::string_view campaign_text = text(campaign, v.campaign);
    const std::string_view at_text = text(at, v.at);
    const std::string_view lifetime_text = text(lifetime, v.at + st.window_ms - now);
    key.assign(st.settings.key_prefix).append("fp:").append(v.fp()).append("-").append(campaign_text);
    value.assign(v.fp()).append("-").append(campaign_text).append(" ").append(at_text).append(" ").append(st.instance);
    if (!v.stored) st.connection.append({"SET", key, at_text, "NX", "PX", lifetime_text});
    st.connection.append({"XADD", st.stream, "MAXLEN", "~", st.max_length, "*", "v", value});
  }
  st.connection.append({"XREAD", "COUNT", st.read_count, "STREAMS", st.stream, st.cursor});

  const Result<> exchanged = st.connection.execute(st.replies);
  std::string error;  // an error reply, if any
  std::size_t r = 0;  // next reply
  std::size_t done = 0;
  std::size_t kept = 0;
  for (Visit& v : st.batch) {
    if (!v.stored && r < st.replies.size()) {
      const redis::Reply& set = st.replies[r++];
      if (set.type == redis::Reply::Type::nil) st.conflicts.fetch_add(1, std::memory_order_relaxed);
      if (set.is_error()) error = set.text;
      v.stored = true;
    }
    if (v.stored && r < st.replies.size()) {
      const redis::Reply& added = st.replies[r++];
      if (added.is_error()) error = added.text;
      ++done;
      continue;
    }
    st.batch[kept++] = v;  // not written: next round
  }
  st.batch.resize(kept);
  st.unshared.fetch_sub(done, std::memory_order_relaxed);
  if (!exchanged) {
    st.health.record(false, now, exchanged.error().detail);
    return exchanged;
  }

  // Catching up (a new instance, or a burst): read on while the stream has more.
  std::size_t read = r < st.replies.size() ? st.apply_read(st.replies[r], now) : 0;
  for (std::size_t more = 1; read == st.settings.read_batch && more < st.settings.reads_per_round; ++more) {
    st.connection.append({"XREAD", "COUNT", st.read_count, "STREAMS", st.stream, st.cursor});
    const Result<> more_read = st.connection.execute(st.replies);
    if (!more_read || st.replies.empty()) {
      Failure failure = more_read ? Failure(Errc::unavailable, "no reply to XREAD") : more_read.error();
      st.health.record(false, now, failure.detail);
      return failure;
    }
    read = st.apply_read(st.replies[0], now);
  }
  st.health.record(true, now, std::move(error));
  return {};
}

void RedisUniqueVisits::start(const Clock& clock, std::chrono::milliseconds interval) {
  ticker_.start("redis-visits", interval, [this, &clock] { sync(clock.now()); });
}

void RedisUniqueVisits::stop() {
  ticker_.stop();
}

UniqueVisitStats RedisUniqueVisits::stats() const {
  const State& st = *state_;
  UniqueVisitStats out;
  out.forced_resets = st.local.forced_resets();
  out.shared = true;
  out.rounds = st.health.rounds();
  out.failed_rounds = st.health.failed_rounds();
  out.unshared = st.unshared.load(std::memory_order_relaxed);
  out.conflicts = st.conflicts.load(std::memory_order_relaxed);
  out.learned = st.learned.load(std::memory_order_relaxed);
  out.dropped = st.dropped.load(std::memory_order_relaxed);
  out.last_success = st.health.last_success();
  return out;
}

std::string RedisUniqueVisits::last_failure() const {
  return state_->health.last_failure();
}

}  // namespace traffic::lid
