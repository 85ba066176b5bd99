#include "traffic/counters/redis_counters.hpp"

#include <array>
#include <boost/unordered/unordered_flat_map.hpp>
#include <charconv>
#include <limits>

namespace traffic::counters {
namespace {

using counters::CounterScope;
using counters::Metric;

// What a counter counts: (scope, metric) of a cap, or a campaign's rotation picks.
enum class Series : std::uint8_t { offer_clicks, offer_sales, campaign_clicks, campaign_sales, rotation };
enum class Span : std::uint8_t { day, week, month, none };

constexpr std::array kSpans = {Span::day, Span::week, Span::month};

Series cap_series(CounterScope scope, Metric metric) noexcept {
  return static_cast<Series>(static_cast<unsigned>(scope) * 2 + static_cast<unsigned>(metric));
}

struct Key {
  recipe::RecordId owner = 0;  // offer or campaign
  std::int64_t sub = 0;        // the period's number, or the rotation child's id
  Series series = Series::offer_clicks;
  Span span = Span::none;
  friend bool operator==(const Key&, const Key&) = default;
};

struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept {
    std::uint64_t h = static_cast<std::uint64_t>(k.owner) * 0x9e3779b97f4a7c15ULL;
    h ^= static_cast<std::uint64_t>(k.sub) + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
    h ^= (static_cast<std::uint64_t>(k.series) << 8 | static_cast<std::uint64_t>(k.span)) * 0xff51afd7ed558ccdULL;
    return h;
  }
};

// shared: the total Redis last reported; unsynced: this instance's increments not yet sent;
// flushing: sent in the exchange under way. The count a click sees is their sum.
struct Entry {
  std::int64_t shared = 0;
  std::int64_t unsynced = 0;
  std::int64_t flushing = 0;
  std::uint64_t read_round = 0;  // State::round when the rule engine last read it; 0: never
  [[nodiscard]] std::int64_t total() const noexcept { return shared + unsynced + flushing; }
};

std::int64_t period_of(const counters::Periods& periods, Span span) noexcept {
  switch (span) {
    case Span::day: return periods.day;
    case Span::week: return periods.week;
    case Span::month: return periods.month;
    case Span::none: break;
  }
  return 0;
}

void append_number(std::string& out, std::int64_t n) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  out.append(digits, end);
}

void append_two_digits(std::string& out, std::int64_t n) {
  out.push_back(static_cast<char>('0' + n / 10));
  out.push_back(static_cast<char>('0' + n % 10));
}

// "2026-11-23" of a day number: the first ten characters of its ISO 8601 form.
void append_date(std::string& out, std::int64_t day) {
  out.append(format_iso8601(day * 86'400'000).substr(0, 10));
}

constexpr std::array<std::string_view, 4> kSeriesNames = {"offer:", "offer:", "campaign:", "campaign:"};
constexpr std::array<std::string_view, 2> kMetricNames = {":clicks:", ":sales:"};

// The Redis key of a cap counter or rotation hash (see the header).
std::string key_text(std::string_view prefix, const Key& k) {
  std::string out(prefix);
  if (k.series == Series::rotation) {
    out.append("rot:");
    append_number(out, k.owner);
    return out;
  }
  const auto series = static_cast<std::size_t>(k.series);
  out.append("cap:").append(kSeriesNames[series]);
  append_number(out, k.owner);
  out.append(kMetricNames[series % 2]);
  switch (k.span) {
    case Span::day:
      out.append("day:");
      append_date(out, k.sub);
      break;
    case Span::week:  // week numbers count from Monday 1969-12-29 (counters::Periods)
      out.append("week:");
      append_date(out, k.sub * 7 - 3);
      break;
    case Span::month:
      out.append("month:");
      append_number(out, k.sub / 12);
      out.push_back('-');
      append_two_digits(out, k.sub % 12 + 1);
      break;
    case Span::none: break;
  }
  return out;
}

std::string_view expiry_seconds(Span span) noexcept {
  switch (span) {
    case Span::day: return "172800";
    case Span::week: return "777600";
    case Span::month: return "2851200";
    case Span::none: break;
  }
  return {};
}

}  // namespace

struct RedisCounters::State {
  State(redis::Endpoint endpoint, std::string prefix, std::uint64_t watch)
      : connection(std::move(endpoint)), key_prefix(std::move(prefix)), watch_rounds(watch) {}

  struct Shard {
    std::mutex mutex;
    boost::unordered_flat_map<Key, Entry, KeyHash> entries;
  };
  // A shard per (owner, scope or rotation): one lock per engine call.
  Shard& shard(recipe::RecordId owner, unsigned group) noexcept {
    const std::uint64_t h = (static_cast<std::uint64_t>(owner) * 4 + group) * 0x9e3779b97f4a7c15ULL;
    return shards[h >> 58];
  }
  Shard& shard_of(const Key& k) noexcept {
    if (k.series == Series::rotation) return shard(k.owner, 2);
    return shard(k.owner, k.series <= Series::offer_sales ? 0U : 1U);
  }
  void add(CounterScope scope, recipe::RecordId id, Metric metric, TimestampMs at) {
    const counters::Periods periods = counters::Periods::at(at);
    Shard& s = shard(id, static_cast<unsigned>(scope));
    std::lock_guard lock(s.mutex);
    for (const Span span : kSpans)
      s.entries[Key{id, period_of(periods, span), cap_series(scope, metric), span}].unsynced++;
  }

  std::array<Shard, 64> shards;

  // The background exchange (one thread at a time) and its reused buffers.
  struct Increment {
    Key key;
    std::int64_t delta = 0;
  };
  std::mutex sync_mutex;
  redis::Connection connection;
  std::string key_prefix;
  std::uint64_t watch_rounds;
  std::atomic<std::uint64_t> round{1};  // 1 + exchanges begun; entries remember when they were read
  std::vector<Increment> increments;
  std::vector<Key> reads;
  std::vector<std::string> key_texts;
  std::vector<std::string_view> arguments;
  std::vector<redis::Reply> replies;

  redis::ExchangeHealth health;
  std::atomic<std::int64_t> unsynced{0};
};

RedisCounters::RedisCounters(redis::Endpoint endpoint, std::string key_prefix, std::uint64_t watch_rounds)
    : state_(std::make_unique<State>(std::move(endpoint), std::move(key_prefix), watch_rounds)) {}

RedisCounters::~RedisCounters() {
  stop();
}

counters::LiveCounts RedisCounters::live_counts(CounterScope scope, recipe::RecordId id, TimestampMs at) const {
  const counters::Periods periods = counters::Periods::at(at);
  State::Shard& s = state_->shard(id, static_cast<unsigned>(scope));
  const std::uint64_t round = state_->round.load(std::memory_order_relaxed);
  counters::LiveCounts counts;
  std::lock_guard lock(s.mutex);
  for (const Metric metric : {Metric::clicks, Metric::sales}) {
    counters::PeriodCounts& out = metric == Metric::clicks ? counts.clicks : counts.sales;
    std::array<std::int64_t*, 3> slots = {&out.day, &out.week, &out.month};
    for (std::size_t i = 0; i < kSpans.size(); ++i) {
      Entry& entry = s.entries[Key{id, period_of(periods, kSpans[i]), cap_series(scope, metric), kSpans[i]}];
      entry.read_round = round;
      *slots[i] = entry.total();
    }
  }
  return counts;
}

std::size_t RedisCounters::pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                             std::uint64_t tie_breaker, bool count_pick) {
  State::Shard& s = state_->shard(campaign, 2);
  const std::uint64_t round = state_->round.load(std::memory_order_relaxed);
  std::lock_guard lock(s.mutex);
  auto entry = [&](recipe::RecordId child) -> Entry& {
    Entry& e = s.entries[Key{campaign, child, Series::rotation, Span::none}];
    e.read_round = round;
    return e;
  };
  const std::size_t pick = counters::least_served_index(
      children.size(), [&](std::size_t i) { return entry(children[i]).total(); }, tie_breaker);
  if (count_pick) ++entry(children[pick]).unsynced;
  return pick;
}

void RedisCounters::return_pick(recipe::RecordId campaign, recipe::RecordId child) {
  State::Shard& s = state_->shard(campaign, 2);
  std::lock_guard lock(s.mutex);
  --s.entries[Key{campaign, child, Series::rotation, Span::none}].unsynced;  // sent as a negative increment
}

void RedisCounters::record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) {
  state_->add(CounterScope::offer, offer, Metric::clicks, at);
  state_->add(CounterScope::campaign, campaign, Metric::clicks, at);
}

void RedisCounters::record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) {
  state_->add(CounterScope::offer, offer, Metric::sales, at);
  state_->add(CounterScope::campaign, campaign, Metric::sales, at);
}

Result<> RedisCounters::sync(TimestampMs now) {
  State& st = *state_;
  std::lock_guard sync_lock(st.sync_mutex);
  const std::uint64_t round = st.round.fetch_add(1, std::memory_order_relaxed) + 1;
  const counters::Periods current = counters::Periods::at(now);
  auto is_past = [&](const Key& k) { return k.span != Span::none && k.sub < period_of(current, k.span); };

  // 1. Take the increments to send and the totals to re-read (of the counters the rule
  //    engine read in the last watch_rounds exchanges); forget settled past periods.
  st.increments.clear();
  st.reads.clear();
  for (State::Shard& s : st.shards) {
    std::lock_guard lock(s.mutex);
    for (auto& [key, entry] : s.entries) {
      if (entry.unsynced != 0) {
        st.increments.push_back({key, entry.unsynced});
        entry.flushing += entry.unsynced;
        entry.unsynced = 0;
      } else if (entry.read_round != 0 && round - entry.read_round <= st.watch_rounds && !is_past(key)) {
        st.reads.push_back(key);
      }
    }
    boost::unordered::erase_if(s.entries, [&](const auto& item) {
      return is_past(item.first) && item.second.unsynced == 0 && item.second.flushing == 0;
    });
  }

  // 2. One pipelined exchange: an increment's reply is the new shared total; the cap
  //    totals to re-read come in one MGET, rotation picks by HGET.
  std::vector<std::string>& keys = st.key_texts;
  keys.clear();
  for (const State::Increment& inc : st.increments) {
    keys.push_back(key_text(st.key_prefix, inc.key));
    const std::string& key = keys.back();
    char digits[2][24];
    const std::string_view field(digits[0], std::to_chars(digits[0], digits[0] + 24, inc.key.sub).ptr);
    const std::string_view amount(digits[1], std::to_chars(digits[1], digits[1] + 24, inc.delta).ptr);
    if (inc.key.series == Series::rotation) {
      st.connection.append({"HINCRBY", key, field, amount});
    } else {
      st.connection.append({"INCRBY", key, amount});
      st.connection.append({"EXPIRE", key, expiry_seconds(inc.key.span)});
    }
  }
  std::vector<std::string_view>& mget = st.arguments;
  mget.assign({"MGET"});
  const std::size_t first_read = keys.size();
  for (const Key& key : st.reads) {
    keys.push_back(key_text(st.key_prefix, key));
    if (key.series != Series::rotation) continue;
    char digits[24];
    const std::string_view field(digits, std::to_chars(digits, digits + sizeof digits, key.sub).ptr);
    st.connection.append({"HGET", keys.back(), field});
  }
  for (std::size_t i = 0; i < st.reads.size(); ++i) {
    if (st.reads[i].series != Series::rotation) mget.push_back(keys[first_read + i]);
  }
  if (mget.size() > 1) st.connection.append(mget);
  const Result<> exchanged = st.connection.execute(st.replies);
  const bool reached = exchanged.has_value();
  std::string error = reached ? std::string() : exchanged.error().detail;

  // 3. Apply the totals; an increment without a good reply goes back to the local count.
  auto note = [&](const redis::Reply& reply) {
    if (error.empty()) error = reply.is_error() ? reply.text : "unexpected reply";
  };
  std::size_t next = 0;  // the next reply
  for (const State::Increment& inc : st.increments) {
    const redis::Reply* answer = next < st.replies.size() ? &st.replies[next] : nullptr;
    next += inc.key.series == Series::rotation ? 1 : 2;
    long long total = 0;
    const bool counted = answer != nullptr && answer->as_integer(total);
    if (answer != nullptr && !counted) note(*answer);
    State::Shard& s = st.shard_of(inc.key);
    std::lock_guard lock(s.mutex);
    Entry& entry = s.entries[inc.key];
    entry.flushing -= inc.delta;
    if (counted) {
      entry.shared = total;
    } else {
      entry.unsynced += inc.delta;
    }
  }
  auto apply_read = [&](const Key& key, const redis::Reply* answer) {
    long long total = 0;
    if (answer == nullptr) return;
    if (!answer->as_integer(total)) return note(*answer);
    State::Shard& s = st.shard_of(key);
    std::lock_guard lock(s.mutex);
    if (auto it = s.entries.find(key); it != s.entries.end()) it->second.shared = total;
  };
  for (const Key& key : st.reads) {
    if (key.series != Series::rotation) continue;
    apply_read(key, next < st.replies.size() ? &st.replies[next] : nullptr);
    ++next;
  }
  if (mget.size() > 1 && next < st.replies.size()) {
    const redis::Reply& totals = st.replies[next];
    if (totals.type != redis::Reply::Type::array) {
      note(totals);
    } else {
      std::size_t element = 0;
      for (const Key& key : st.reads) {
        if (key.series == Series::rotation) continue;
        apply_read(key, element < totals.elements.size() ? &totals.elements[element] : nullptr);
        ++element;
      }
    }
  }
  std::int64_t kept_local = 0;
  for (State::Shard& s : st.shards) {  // sent back, and made while the exchange ran
    std::lock_guard lock(s.mutex);
    for (const auto& item : s.entries) kept_local += item.second.unsynced;
  }
  st.unsynced.store(kept_local, std::memory_order_relaxed);
  st.health.record(reached, now, std::move(error));
  return exchanged;
}

void RedisCounters::start(const Clock& clock, std::chrono::milliseconds interval) {
  ticker_.start("redis-counters", interval, [this, &clock] { sync(clock.now()); });
}

void RedisCounters::stop() {
  ticker_.stop();
}

SyncStats RedisCounters::stats() const {
  const redis::ExchangeHealth& health = state_->health;
  return {health.rounds(), health.failed_rounds(), state_->unsynced.load(std::memory_order_relaxed),
          health.last_success()};
}

std::string RedisCounters::last_failure() const {
  return state_->health.last_failure();
}

}  // namespace traffic::counters
