#include "traffic/events/analytics.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "traffic/events/event.hpp"

namespace traffic::events {

namespace json = boost::json;

// ---- days ----

std::string day_text(Day day) {
  return format_iso8601(day * 86'400'000).substr(0, 10);
}

std::string day_key(Day day) {
  std::string text = day_text(day);
  return text.substr(0, 4) + text.substr(5, 2) + text.substr(8, 2);
}

std::string month_key(Day day) {
  return day_key(day).substr(0, 6);
}

std::optional<Day> parse_day(std::string_view text) noexcept {
  if (text.size() != 10) return std::nullopt;
  const std::optional<TimestampMs> at = parse_iso8601(text);
  if (!at) return std::nullopt;
  return day_of(*at);
}

Day next_month(Day day) {
  const std::string month = month_key(day);
  int year = 0;
  unsigned number = 0;
  std::from_chars(month.data(), month.data() + 4, year);
  std::from_chars(month.data() + 4, month.data() + 6, number);
  return number == 12 ? days_from_civil(year + 1, 1, 1) : days_from_civil(year, number + 1, 1);
}

namespace {

std::string length_prefixed(std::string_view value) {
  return std::to_string(value.size()) + ":" + std::string(value);
}

}  // namespace

// ---- keys ----

std::string AnalyticsKeys::sites(std::string_view day) const {
  return prefix + "an:sites:" + std::string(day);
}
std::string AnalyticsKeys::page_views(std::string_view day, std::string_view website) const {
  return prefix + "an:pv:" + std::string(day) + ":" + std::string(website);
}
std::string AnalyticsKeys::ads(std::string_view day, std::string_view website) const {
  return prefix + "an:ad:" + std::string(day) + ":" + std::string(website);
}
std::string AnalyticsKeys::clickers(std::string_view day, std::string_view website, std::string_view ad) const {
  return prefix + "an:uc:" + std::string(day) + ":" + length_prefixed(ad) + ":" + std::string(website);
}
std::string AnalyticsKeys::clicks_by_visitor(std::string_view day, std::string_view website,
                                             std::string_view ad) const {
  return prefix + "an:vc:" + std::string(day) + ":" + length_prefixed(ad) + ":" + std::string(website);
}
std::string AnalyticsKeys::site_visitors(std::string_view month, std::string_view website) const {
  return prefix + "an:uv:" + std::string(month) + ":" + std::string(website);
}
std::string AnalyticsKeys::ad_visitors(std::string_view month, std::string_view website, std::string_view ad) const {
  return prefix + "an:uva:" + std::string(month) + ":" + length_prefixed(ad) + ":" + std::string(website);
}
std::string AnalyticsKeys::applied(std::string_view source) const {
  return prefix + "an:applied:" + std::string(source);
}

// ---- the sink ----

namespace {

// Applies one delivery, atomically (a script runs whole, and replicas and the AOF see it
// whole). ARGV, in sections each led by its count:
//   HINCRBY ops (key, field, by); PFADD ops (key, n, members…); SADD ops (key, n, members…);
//   the repeat threshold, then click ops (per-visitor hash, visitor, by, ads hash, field):
//   the field gains one when the visitor's clicks cross the threshold;
//   EXPIREAT ops (key, unix seconds); then the applied marks: key, n, (lane, position)….
// The marks go last: a script that failed half-way (never with our own keys) leaves them,
// and its batch is offered again.
constexpr std::string_view kApplyScript = R"lua(
local a = ARGV
local i = 1
local function take() local v = a[i]; i = i + 1; return v end
local n = tonumber(take())
for _ = 1, n do
  local k = take(); local f = take(); local by = take()
  redis.call('HINCRBY', k, f, by)
end
for _, command in ipairs({'PFADD', 'SADD'}) do
  n = tonumber(take())
  for _ = 1, n do
    local k = take(); local m = tonumber(take())
    redis.call(command, k, unpack(a, i, i + m - 1))
    i = i + m
  end
end
local threshold = tonumber(take())
n = tonumber(take())
for _ = 1, n do
  local k = take(); local visitor = take(); local by = tonumber(take()); local ads = take(); local field = take()
  local now = redis.call('HINCRBY', k, visitor, by)
  if now >= threshold and now - by < threshold then redis.call('HINCRBY', ads, field, 1) end
end
n = tonumber(take())
for _ = 1, n do
  local k = take(); local at = take()
  redis.call('EXPIREAT', k, at)
end
local marks = take()
n = tonumber(take())
for _ = 1, n do
  local lane = take(); local position = take()
  redis.call('HSET', marks, lane, position)
end
return 1
)lua";

// Records per script: small enough that Redis applies one while the next is prepared, large
// enough that a page seen often in a batch is still one HINCRBY per script.
constexpr std::size_t kRecordsPerScript = 1024;

// Keys whose expiry the sink remembers having set (~100 bytes each).
constexpr std::size_t kRememberedExpiries = 500'000;

// PFADD/SADD take at most this many members per command: Lua's unpack() has a stack limit.
constexpr std::size_t kMembersPerCommand = 1'000;

struct PairHash {
  std::size_t operator()(const std::pair<std::string, std::string>& p) const noexcept {
    return std::hash<std::string>()(p.first) * 31 + std::hash<std::string>()(p.second);
  }
};

std::string position_text(const pipeline::SpoolPosition& position) {
  return std::to_string(position.segment) + " " + std::to_string(position.offset);
}

std::optional<pipeline::SpoolPosition> parse_position(std::string_view text) {
  pipeline::SpoolPosition position;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, position.segment);
  if (ec != std::errc() || p == end || *p != ' ') return std::nullopt;
  auto [q, ec2] = std::from_chars(p + 1, end, position.offset);
  if (ec2 != std::errc() || q != end) return std::nullopt;
  return position;
}

std::string_view string_field(const json::object& record, std::string_view name) {
  const json::value* value = record.if_contains(name);
  if (value == nullptr) return {};
  if (const json::string* text = value->if_string()) return *text;
  return {};
}

}  // namespace

// A day's names and expiries, worked out once per day seen rather than per event.
struct DayNames {
  Day day = std::numeric_limits<Day>::min();
  std::string day_name;
  std::string month_name;
  std::int64_t day_expiry = 0;    // unix seconds
  std::int64_t month_expiry = 0;  // unix seconds
  DayNames() = default;
  DayNames(Day d, unsigned retention_days)
      : day(d),
        day_name(day_key(d)),
        month_name(day_name.substr(0, 6)),
        day_expiry((d + 1 + retention_days) * 86'400),
        month_expiry((next_month(d) + AnalyticsSettings::kMonthRetentionDays) * 86'400) {}
};

// What one delivery changes, gathered first so that a page viewed 500 times in a batch is
// one HINCRBY, and each key's expiry is set once.
struct AnalyticsSink::Batch {
  std::unordered_map<std::pair<std::string, std::string>, long long, PairHash> increments;
  std::unordered_map<std::string, std::unordered_set<std::string>> hll_members;
  std::unordered_map<std::string, std::unordered_set<std::string>> set_members;
  struct Clicks {
    long long by = 0;
    std::string ads_key;
    std::string field;
  };
  std::unordered_map<std::pair<std::string, std::string>, Clicks, PairHash> clicks;  // (hash, visitor)
  std::unordered_map<std::string, std::int64_t> expiries;                            // key → unix seconds
  std::vector<std::optional<pipeline::SpoolPosition>> marks;
  DayNames day;
  std::vector<std::string> arguments;
  std::vector<std::string_view> views;
  json::parser parser;
  std::size_t events = 0;
  struct Sent {  // a script sent, its reply not read yet
    std::vector<std::optional<pipeline::SpoolPosition>> marks;
    std::vector<std::pair<std::string, std::int64_t>> expiries;
    std::size_t events = 0;
  };
  std::vector<Sent> sent;

  void clear() {
    increments.clear();
    hll_members.clear();
    set_members.clear();
    clicks.clear();
    expiries.clear();
    arguments.clear();
    events = 0;
  }
  void expire(const std::string& key, std::int64_t at) {
    auto [it, added] = expiries.try_emplace(key, at);
    if (!added) it->second = std::max(it->second, at);
  }
};

AnalyticsSink::AnalyticsSink(AnalyticsSettings settings)
    : settings_(std::move(settings)),
      keys_{settings_.key_prefix},
      connection_(settings_.endpoint),
      batch_(std::make_unique<Batch>()) {}

AnalyticsSink::~AnalyticsSink() = default;

Result<> AnalyticsSink::deliver(std::span<const std::string_view> records) {
  return apply(records, {});
}

Result<> AnalyticsSink::deliver_with_origins(std::span<const std::string_view> records,
                                             std::span<const pipeline::RecordOrigin> origins) {
  return apply(records, origins);
}

Result<> AnalyticsSink::load_marks() {
  connection_.append({"HGETALL", keys_.applied(settings_.source)});
  if (auto exchanged = connection_.execute(replies_); !exchanged) return exchanged;
  const redis::Reply& reply = replies_.at(0);
  if (reply.is_error()) return Failure(Errc::refused, connection_.endpoint().address() + ": " + reply.text);
  marks_.clear();
  for (std::size_t i = 0; i + 1 < reply.elements.size(); i += 2) {
    std::size_t lane = 0;
    const std::string& name = reply.elements[i].text;
    const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), lane);
    const std::optional<pipeline::SpoolPosition> position = parse_position(reply.elements[i + 1].text);
    if (ec != std::errc() || end != name.data() + name.size() || lane >= 1024 || !position) continue;
    if (marks_.size() <= lane) marks_.resize(lane + 1);
    marks_[lane] = position;
  }
  marks_known_ = true;
  return {};
}

// Gathers what `records` change into `batch` (cleared first), skipping those at or before
// the running marks in `batch.marks`, which it moves.
void AnalyticsSink::gather(std::span<const std::string_view> records, std::span<const pipeline::RecordOrigin> origins) {
  Batch& batch = *batch_;
  batch.clear();
  std::uint64_t& replayed = stats_.replayed;
  std::uint64_t& unreadable = stats_.unreadable;
  const std::int64_t day_seconds = 86'400;
  for (std::size_t r = 0; r < records.size(); ++r) {
    if (!origins.empty()) {
      const pipeline::RecordOrigin& origin = origins[r];
      if (batch.marks.size() <= origin.lane) batch.marks.resize(origin.lane + 1);
      std::optional<pipeline::SpoolPosition>& mark = batch.marks[origin.lane];
      if (mark && origin.end <= *mark) {
        ++replayed;
        continue;
      }
      mark = origin.end;
    }
    std::string_view record = records[r];
    if (pipeline::record_kind(record) != pipeline::RecordKind::event) continue;
    batch.parser.reset();
    json::error_code ec;
    batch.parser.write(record.data(), record.size(), ec);
    if (ec) {
      ++unreadable;
      continue;
    }
    const json::value value = batch.parser.release();
    const json::object* object = value.if_object();
    if (object == nullptr) {
      ++unreadable;
      continue;
    }
    const std::optional<EventType> type = event_type(string_field(*object, "event_type"));
    const std::string_view website = string_field(*object, "website");
    const json::value* added = object->if_contains("date_added");
    if (!type || website.empty() || added == nullptr || !added->is_int64()) {
      ++unreadable;
      continue;
    }
    std::string ad;
    if (const json::value* id = object->if_contains("ad_id")) {
      if (const json::string* text = id->if_string())
        ad = std::string(*text);
      else if (id->is_int64())
        ad = std::to_string(id->get_int64());
    }
    const std::string_view visitor = string_field(*object, "visitor_id");
    const Day day = day_of(added->get_int64());
    if (day != batch.day.day) batch.day = DayNames(day, settings_.retention_days);
    const std::string& day_name = batch.day.day_name;
    const std::string& month_name = batch.day.month_name;
    const std::int64_t day_expiry = batch.day.day_expiry;
    const std::int64_t month_expiry = batch.day.month_expiry;

    const std::string sites = keys_.sites(day_name);
    batch.set_members[sites].emplace(website);
    batch.expire(sites, day_expiry);
    if (!visitor.empty()) {
      const std::string visitors = keys_.site_visitors(month_name, website);
      batch.hll_members[visitors].emplace(visitor);
      batch.expire(visitors, month_expiry);
    }
    if (*type == EventType::page_view) {
      const std::string views = keys_.page_views(day_name, website);
      batch.increments[{views, std::string(string_field(*object, "page"))}] += 1;
      batch.expire(views, day_expiry);
    } else if (!ad.empty()) {
      const bool click = *type == EventType::ad_click;
      const std::string ads = keys_.ads(day_name, website);
      batch.increments[{ads, (click ? "clk:" : "imp:") + ad}] += 1;
      batch.expire(ads, day_expiry);
      if (!visitor.empty()) {
        const std::string visitors = keys_.ad_visitors(month_name, website, ad);
        batch.hll_members[visitors].emplace(visitor);
        batch.expire(visitors, month_expiry);
        if (click) {
          const std::string clickers = keys_.clickers(day_name, website, ad);
          batch.hll_members[clickers].emplace(visitor);
          batch.expire(clickers, day_expiry);
          const std::string by_visitor = keys_.clicks_by_visitor(day_name, website, ad);
          Batch::Clicks& clicks = batch.clicks[{by_visitor, std::string(visitor)}];
          clicks.by += 1;
          clicks.ads_key = ads;
          clicks.field = "rep:" + ad;
          batch.expire(by_visitor, (day + 2) * day_seconds);  // the day, and one more for late events
        }
      }
    }
    ++batch.events;
  }
}

// The script's arguments for `batch`: `before` are the marks the last script left.
void AnalyticsSink::script_arguments(const std::vector<std::optional<pipeline::SpoolPosition>>& before) {
  Batch& batch = *batch_;
  std::vector<std::string>& args = batch.arguments;
  args.emplace_back(std::to_string(batch.increments.size()));
  for (const auto& [key_field, by] : batch.increments) {
    args.push_back(key_field.first);
    args.push_back(key_field.second);
    args.push_back(std::to_string(by));
  }
  for (const auto* groups : {&batch.hll_members, &batch.set_members}) {
    std::size_t commands = 0;
    for (const auto& [key, members] : *groups)
      commands += (members.size() + kMembersPerCommand - 1) / kMembersPerCommand;
    args.push_back(std::to_string(commands));
    for (const auto& [key, members] : *groups) {
      std::size_t left = members.size();
      auto it = members.begin();
      while (left > 0) {
        const std::size_t take = std::min(left, kMembersPerCommand);
        args.push_back(key);
        args.push_back(std::to_string(take));
        for (std::size_t k = 0; k < take; ++k, ++it) args.push_back(*it);
        left -= take;
      }
    }
  }
  args.push_back(std::to_string(std::max(1U, settings_.repeat_clicks)));
  args.push_back(std::to_string(batch.clicks.size()));
  for (const auto& [key_visitor, clicks] : batch.clicks) {
    args.push_back(key_visitor.first);
    args.push_back(key_visitor.second);
    args.push_back(std::to_string(clicks.by));
    args.push_back(clicks.ads_key);
    args.push_back(clicks.field);
  }
  // A key's expiry is fixed by its day or month: set once, it need not be set again while
  // the key lives. Keys this sink has set are remembered (bounded; forgotten after any
  // failure, since Redis may have restarted and lost them) and skipped — a third of the
  // script's commands otherwise.
  if (expiries_set_.size() + batch.expiries.size() > kRememberedExpiries) expiries_set_.clear();
  std::size_t expiring = 0;
  for (const auto& [key, at] : batch.expiries) {
    if (const auto known = expiries_set_.find(key); known == expiries_set_.end() || known->second != at) ++expiring;
  }
  args.push_back(std::to_string(expiring));
  for (const auto& [key, at] : batch.expiries) {
    if (const auto known = expiries_set_.find(key); known != expiries_set_.end() && known->second == at) continue;
    args.push_back(key);
    args.push_back(std::to_string(at));
  }
  args.push_back(keys_.applied(settings_.source));
  std::size_t moved = 0;
  for (std::size_t lane = 0; lane < batch.marks.size(); ++lane) {
    if (batch.marks[lane] && (lane >= before.size() || batch.marks[lane] != before[lane])) ++moved;
  }
  args.push_back(std::to_string(moved));
  for (std::size_t lane = 0; lane < batch.marks.size(); ++lane) {
    if (!batch.marks[lane] || (lane < before.size() && batch.marks[lane] == before[lane])) continue;
    args.push_back(std::to_string(lane));
    args.push_back(position_text(*batch.marks[lane]));
  }

  batch.views.clear();
  batch.views.push_back("EVAL");
  batch.views.push_back(kApplyScript);
  batch.views.push_back("0");
  for (const std::string& arg : args) batch.views.push_back(arg);
}

// A delivery goes in chunks, each its own script: a chunk is sent before the next is
// gathered, so Redis applies one while this thread prepares the next (they would otherwise
// take turns). Each script moves the marks past its own records, so whatever applied before
// a failure stays counted once.
Result<> AnalyticsSink::apply(std::span<const std::string_view> records,
                              std::span<const pipeline::RecordOrigin> origins) {
  if (!origins.empty() && !marks_known_) {
    if (auto loaded = load_marks(); !loaded) return loaded;
  }
  Batch& batch = *batch_;
  batch.marks = marks_;
  batch.sent.clear();
  const auto failed = [&](Failure failure) -> Result<> {
    // A script may have run whose reply was lost: the marks are read again before the
    // batch is offered again, and decide what it still has to count.
    marks_known_ = false;
    expiries_set_.clear();
    return failure;
  };
  for (std::size_t begin = 0; begin < records.size(); begin += kRecordsPerScript) {
    const std::size_t count = std::min(kRecordsPerScript, records.size() - begin);
    const std::vector<std::optional<pipeline::SpoolPosition>> before = batch.marks;
    gather(records.subspan(begin, count), origins.empty() ? origins : origins.subspan(begin, count));
    // Nothing to count: no script. The marks it moved are carried by the next script that
    // counts; until then a replay offers only records that count nothing.
    if (batch.events == 0) continue;
    script_arguments(before);
    connection_.append(batch.views);
    if (auto sent = connection_.send(); !sent) return failed(sent.error());
    Batch::Sent& script = batch.sent.emplace_back();
    script.marks = batch.marks;
    script.events = batch.events;
    script.expiries.assign(batch.expiries.begin(), batch.expiries.end());
  }
  if (batch.sent.empty()) return {};
  if (auto received = connection_.receive(replies_); !received) return failed(received.error());
  for (std::size_t k = 0; k < batch.sent.size(); ++k) {
    if (k >= replies_.size() || replies_[k].is_error()) {
      return failed(Failure(Errc::refused, connection_.endpoint().address() + ": " +
                                               (k < replies_.size() ? replies_[k].text : std::string("no reply"))));
    }
    const Batch::Sent& script = batch.sent[k];
    marks_ = script.marks;
    for (const auto& [key, at] : script.expiries) expiries_set_.insert_or_assign(key, at);
    stats_.counted += script.events;
  }
  return {};
}

// ---- queries ----

Result<StatsQuery> parse_stats_query(std::span<const std::pair<std::string, std::string>> params, Day today) {
  StatsQuery query;
  std::optional<Day> from;
  std::optional<Day> to;
  const auto bad = [](std::string_view name, std::string_view why) {
    return Failure(Errc::invalid_input, std::string(name) + ": " + std::string(why));
  };
  for (const auto& [name, value] : params) {
    if (name == "website" || name == "ad_id") {
      if (value.empty() || value.size() > (name == "website" ? EventLimits::kWebsiteBytes : EventLimits::kAdIdBytes))
        return bad(name, "must be 1.." +
                             std::to_string(name == "website" ? EventLimits::kWebsiteBytes : EventLimits::kAdIdBytes) +
                             " bytes");
      (name == "website" ? query.website : query.ad_id) = value;
    } else if (name == "from" || name == "to") {
      const std::optional<Day> day = parse_day(value);
      if (!day) return bad(name, "must be a date, YYYY-MM-DD");
      (name == "from" ? from : to) = day;
    } else {
      return bad(name.size() > 64 ? name.substr(0, 64) : name, "unknown parameter (website, ad_id, from, to)");
    }
  }
  query.to = to.value_or(today);
  query.from = from.value_or(query.to - (StatsQuery::kDefaultDays - 1));
  if (query.from > query.to) return bad("from", "must not be after to");
  if (query.to - query.from + 1 > StatsQuery::kMaxDays)
    return bad("from", "the range is longer than " + std::to_string(StatsQuery::kMaxDays) + " days");
  return query;
}

AnalyticsReader::AnalyticsReader(redis::Endpoint endpoint, std::string key_prefix)
    : keys_{std::move(key_prefix)}, connection_(std::move(endpoint)) {}

AnalyticsReader::~AnalyticsReader() = default;

Result<> AnalyticsReader::exchange() {
  if (auto exchanged = connection_.execute(replies_); !exchanged) return exchanged;
  for (const redis::Reply& reply : replies_) {
    if (reply.is_error()) return Failure(Errc::refused, connection_.endpoint().address() + ": " + reply.text);
  }
  return {};
}

namespace {

std::vector<Day> days_of(const StatsQuery& query) {
  std::vector<Day> days;
  for (Day day = query.from; day <= query.to; ++day) days.push_back(day);
  return days;
}

std::vector<std::string> months_of(const StatsQuery& query) {
  std::vector<std::string> months;
  for (Day day = query.from; day <= query.to; day = next_month(day)) months.push_back(month_key(day));
  return months;
}

std::uint64_t count_of(const redis::Reply& reply) {
  long long value = 0;
  return reply.as_integer(value) && value > 0 ? static_cast<std::uint64_t>(value) : 0;
}

}  // namespace

// Queues PFCOUNT of `keys`: the cardinality of their union.
void AnalyticsReader::append_count(const std::vector<std::string>& keys) {
  std::vector<std::string_view> command{"PFCOUNT"};
  command.insert(command.end(), keys.begin(), keys.end());
  connection_.append(command);
}

// The websites to report: the one asked for, or every one with events in the range.
Result<std::vector<std::string>> AnalyticsReader::websites(const StatsQuery& query) {
  if (!query.website.empty()) return std::vector<std::string>{query.website};
  for (const Day day : days_of(query)) connection_.append({"SMEMBERS", keys_.sites(day_key(day))});
  if (auto exchanged = exchange(); !exchanged) return exchanged.error();
  std::vector<std::string> sites;
  for (const redis::Reply& reply : replies_) {
    for (const redis::Reply& member : reply.elements) sites.push_back(member.text);
  }
  std::sort(sites.begin(), sites.end());
  sites.erase(std::unique(sites.begin(), sites.end()), sites.end());
  return sites;
}

Result<std::vector<SiteStats>> AnalyticsReader::pages(const StatsQuery& query) {
  std::lock_guard lock(mutex_);
  Result<std::vector<std::string>> sites = websites(query);
  if (!sites) return sites.error();
  const std::vector<Day> days = days_of(query);
  const std::vector<std::string> months = months_of(query);
  for (const std::string& site : *sites) {
    for (const Day day : days) connection_.append({"HGETALL", keys_.page_views(day_key(day), site)});
    std::vector<std::string> visitors;
    for (const std::string& month : months) visitors.push_back(keys_.site_visitors(month, site));
    append_count(visitors);
  }
  if (auto exchanged = exchange(); !exchanged) return exchanged.error();
  std::vector<SiteStats> out;
  std::size_t reply = 0;
  for (const std::string& site : *sites) {
    std::map<std::string, std::uint64_t> pages;
    for (std::size_t d = 0; d < days.size(); ++d) {
      const redis::Reply& hash = replies_.at(reply++);
      for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2)
        pages[hash.elements[i].text] += count_of(hash.elements[i + 1]);
    }
    SiteStats stats;
    stats.website = site;
    stats.unique_visitors = count_of(replies_.at(reply++));
    for (auto& [page, views] : pages) {
      stats.views += views;
      stats.pages.push_back({page, views});
    }
    if (stats.views == 0 && stats.unique_visitors == 0) continue;
    std::stable_sort(stats.pages.begin(), stats.pages.end(),
                     [](const PageViews& a, const PageViews& b) { return a.views > b.views; });
    out.push_back(std::move(stats));
  }
  std::stable_sort(out.begin(), out.end(), [](const SiteStats& a, const SiteStats& b) { return a.views > b.views; });
  return out;
}

Result<std::vector<AdStats>> AnalyticsReader::ads(const StatsQuery& query) {
  std::lock_guard lock(mutex_);
  Result<std::vector<std::string>> sites = websites(query);
  if (!sites) return sites.error();
  const std::vector<Day> days = days_of(query);
  const std::vector<std::string> months = months_of(query);
  for (const std::string& site : *sites) {
    for (const Day day : days) connection_.append({"HGETALL", keys_.ads(day_key(day), site)});
  }
  if (auto exchanged = exchange(); !exchanged) return exchanged.error();
  std::map<std::pair<std::string, std::string>, AdStats> found;  // (website, ad)
  std::size_t reply = 0;
  for (const std::string& site : *sites) {
    for (std::size_t d = 0; d < days.size(); ++d) {
      const redis::Reply& hash = replies_.at(reply++);
      for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) {
        const std::string& field = hash.elements[i].text;
        if (field.size() < 4 || field[3] != ':') continue;
        const std::string ad = field.substr(4);
        if (!query.ad_id.empty() && ad != query.ad_id) continue;
        AdStats& stats = found[{site, ad}];
        const std::string_view kind = std::string_view(field).substr(0, 3);
        const std::uint64_t value = count_of(hash.elements[i + 1]);
        if (kind == "imp") stats.impressions += value;
        if (kind == "clk") stats.clicks += value;
        if (kind == "rep") stats.repeat_clickers += value;
      }
    }
  }
  // Unique counts: the union of the range's HyperLogLogs (PFCOUNT of several keys).
  for (const auto& [id, stats] : found) {
    std::vector<std::string> clickers;
    for (const Day day : days) clickers.push_back(keys_.clickers(day_key(day), id.first, id.second));
    append_count(clickers);
    std::vector<std::string> visitors;
    for (const std::string& month : months) visitors.push_back(keys_.ad_visitors(month, id.first, id.second));
    append_count(visitors);
  }
  if (!found.empty()) {
    if (auto exchanged = exchange(); !exchanged) return exchanged.error();
  }
  std::vector<AdStats> out;
  reply = 0;
  for (auto& [id, stats] : found) {
    stats.website = id.first;
    stats.ad_id = id.second;
    stats.unique_clickers = count_of(replies_.at(reply++));
    stats.unique_visitors = count_of(replies_.at(reply++));
    out.push_back(std::move(stats));
  }
  std::stable_sort(out.begin(), out.end(), [](const AdStats& a, const AdStats& b) {
    return a.clicks != b.clicks ? a.clicks > b.clicks : a.impressions > b.impressions;
  });
  return out;
}

std::string pages_json(const StatsQuery& query, const std::vector<SiteStats>& sites) {
  json::array websites;
  for (const SiteStats& site : sites) {
    json::array pages;
    for (const PageViews& page : site.pages) pages.push_back(json::object{{"page", page.page}, {"views", page.views}});
    websites.push_back(json::object{{"website", site.website},
                                    {"views", site.views},
                                    {"unique_visitors", site.unique_visitors},
                                    {"pages", std::move(pages)}});
  }
  return json::serialize(
      json::object{{"from", day_text(query.from)}, {"to", day_text(query.to)}, {"websites", std::move(websites)}});
}

std::string ads_json(const StatsQuery& query, const std::vector<AdStats>& ads) {
  json::array rows;
  for (const AdStats& ad : ads) {
    rows.push_back(json::object{{"website", ad.website},
                                {"ad_id", ad.ad_id},
                                {"impressions", ad.impressions},
                                {"clicks", ad.clicks},
                                {"ctr", ad.ctr()},
                                {"unique_clickers", ad.unique_clickers},
                                {"repeat_clickers", ad.repeat_clickers},
                                {"unique_visitors", ad.unique_visitors}});
  }
  return json::serialize(
      json::object{{"from", day_text(query.from)}, {"to", day_text(query.to)}, {"ads", std::move(rows)}});
}

}  // namespace traffic::events
