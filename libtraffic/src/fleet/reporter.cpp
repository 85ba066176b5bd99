#include "traffic/fleet/reporter.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace traffic::fleet {

namespace json = boost::json;

namespace {

std::string index_key(const std::string& prefix) {
  return prefix + "fleet:instances";
}
std::string sample_key(const std::string& prefix, std::string_view id) {
  return prefix + "fleet:instance:" + std::string(id);
}
std::string series_key(const std::string& prefix, std::string_view id) {
  return prefix + "fleet:series:" + std::string(id);
}
std::string channel(const std::string& prefix) {
  return prefix + "fleet:samples";
}

}  // namespace

// ---- points ----

Point point_of(const Sample& s) {
  return {.at = s.at,
          .requests_per_second = s.requests_per_second,
          .clicks_per_second = s.clicks_per_second,
          .p50_ms = s.p50_ms,
          .p99_ms = s.p99_ms,
          .server_errors_per_second = s.server_errors_per_second,
          .process_cpu = s.process_cpu,
          .resident_bytes = s.resident_bytes,
          .spool_backlog_bytes = s.spool_backlog_bytes};
}

std::string to_json(const Point& p) {
  return json::serialize(json::object{{"at", p.at},
                                      {"rps", p.requests_per_second},
                                      {"cps", p.clicks_per_second},
                                      {"p50", p.p50_ms},
                                      {"p99", p.p99_ms},
                                      {"e5", p.server_errors_per_second},
                                      {"cpu", p.process_cpu},
                                      {"rss", p.resident_bytes},
                                      {"backlog", p.spool_backlog_bytes}});
}

Result<Point> point_from_json(std::string_view text) {
  json::error_code ec;
  const json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return Failure(Errc::invalid_input, "not a fleet point");
  const json::object& o = value.get_object();
  const auto number = [&](std::string_view name) {
    const json::value* v = o.if_contains(name);
    return v != nullptr && v->is_number() ? v->to_number<double>() : 0.0;
  };
  const auto count = [&](std::string_view name) -> std::uint64_t {
    const json::value* v = o.if_contains(name);
    if (v == nullptr) return 0;
    if (v->is_uint64()) return v->get_uint64();
    return v->is_int64() && v->get_int64() > 0 ? static_cast<std::uint64_t>(v->get_int64()) : 0;
  };
  const json::value* at = o.if_contains("at");
  return Point{.at = at != nullptr && at->is_int64() ? at->get_int64() : 0,
               .requests_per_second = number("rps"),
               .clicks_per_second = number("cps"),
               .p50_ms = number("p50"),
               .p99_ms = number("p99"),
               .server_errors_per_second = number("e5"),
               .process_cpu = number("cpu"),
               .resident_bytes = count("rss"),
               .spool_backlog_bytes = count("backlog")};
}

std::string fleet_json(const std::vector<InstanceView>& instances) {
  std::string out = R"({"instances":[)";
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const InstanceView& view = instances[i];
    std::string sample = to_json(view.latest);
    sample.pop_back();  // the object's '}': online and series go inside it
    out += (i > 0 ? "," : "") + sample + R"(,"online":)" + (view.online ? "true" : "false") + R"(,"series":[)";
    for (std::size_t p = 0; p < view.series.size(); ++p) out += (p > 0 ? "," : "") + to_json(view.series[p]);
    out += "]}";
  }
  return out + "]}";
}

Result<std::vector<InstanceView>> fleet_from_json(std::string_view text) {
  json::error_code ec;
  const json::value value = json::parse(text, ec);
  const json::value* list = !ec && value.is_object() ? value.get_object().if_contains("instances") : nullptr;
  if (list == nullptr || !list->is_array()) return Failure(Errc::invalid_input, "not a fleet: no instances");
  std::vector<InstanceView> out;
  for (const json::value& entry : list->get_array()) {
    Result<Sample> sample = entry.is_object() ? sample_from_json(json::serialize(entry))
                                              : Result<Sample>(Failure(Errc::invalid_input, "not an object"));
    if (!sample) return sample.error();
    InstanceView view{.latest = std::move(*sample), .online = false, .series = {}};
    const json::object& object = entry.get_object();
    if (const json::value* online = object.if_contains("online"); online != nullptr && online->is_bool())
      view.online = online->get_bool();
    if (const json::value* points = object.if_contains("series"); points != nullptr && points->is_array()) {
      for (const json::value& point : points->get_array()) {
        if (Result<Point> p = point_from_json(json::serialize(point))) view.series.push_back(*p);
      }
    }
    out.push_back(std::move(view));
  }
  return out;
}

// ---- the reporter ----

Reporter::Reporter(ReporterSettings settings, const Clock& clock, std::function<Sample()> take)
    : settings_(std::move(settings)), clock_(clock), take_(std::move(take)) {
  if (settings_.redis) connection_.emplace(*settings_.redis);
}

Reporter::~Reporter() {
  stop();
}

void Reporter::start() {
  // A failure is in health(); the next interval tries again.
  ticker_.start("fleet", settings_.interval, [this] { (void)report_once(); });
}

void Reporter::stop() {
  ticker_.stop();
}

Result<> Reporter::report_once() {
  Sample sample = take_();
  const Point point = point_of(sample);
  {
    std::lock_guard lock(mutex_);
    latest_ = sample;
    series_.push_back(point);
    while (series_.size() > FleetTimes::kSeriesPoints) series_.pop_front();
  }
  if (!connection_) return {};
  return publish(sample, point);
}

Result<> Reporter::publish(const Sample& sample, const Point& point) {
  const std::string& prefix = settings_.key_prefix;
  const std::string text = to_json(sample);
  const std::string expiry = std::to_string(FleetTimes::kForgotten.count());
  const std::string series = series_key(prefix, sample.instance);
  const std::string at = std::to_string(sample.at);
  const std::string forgotten = "(" + std::to_string(sample.at - FleetTimes::kForgotten.count());
  const std::string oldest = std::to_string(-static_cast<long long>(FleetTimes::kSeriesPoints));
  connection_->append({"SET", sample_key(prefix, sample.instance), text, "PX", expiry});
  connection_->append({"ZADD", index_key(prefix), at, sample.instance});
  connection_->append({"ZREMRANGEBYSCORE", index_key(prefix), "-inf", forgotten});
  connection_->append({"RPUSH", series, to_json(point)});
  connection_->append({"LTRIM", series, oldest, "-1"});
  connection_->append({"PEXPIRE", series, expiry});
  connection_->append({"PUBLISH", channel(prefix), text});
  const Result<> exchanged = connection_->execute(replies_);
  std::string failure = exchanged ? std::string() : exchanged.error().detail;
  for (const redis::Reply& reply : replies_) {
    if (reply.is_error() && failure.empty()) failure = reply.text;
  }
  health_.record(exchanged.has_value(), clock_.now(), failure);
  if (!exchanged) return exchanged;
  if (!failure.empty()) return Failure(Errc::refused, connection_->endpoint().address() + ": " + failure);
  return {};
}

std::optional<Sample> Reporter::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::vector<Point> Reporter::series() const {
  std::lock_guard lock(mutex_);
  return {series_.begin(), series_.end()};
}

// ---- the reader ----

FleetReader::FleetReader(redis::Endpoint endpoint, std::string key_prefix) : key_prefix_(std::move(key_prefix)) {
  connection_.emplace(std::move(endpoint));
}

FleetReader::FleetReader(const Reporter& self) : self_(&self) {}

FleetReader::~FleetReader() = default;

Result<std::vector<InstanceView>> FleetReader::instances(TimestampMs now, bool series) {
  const auto online = [&](const Sample& sample) { return now - sample.at < FleetTimes::kOffline.count(); };
  if (self_ != nullptr) {
    std::vector<InstanceView> out;
    if (std::optional<Sample> latest = self_->latest()) {
      InstanceView view{.latest = std::move(*latest), .online = false, .series = {}};
      view.online = online(view.latest);
      if (series) view.series = self_->series();
      out.push_back(std::move(view));
    }
    return out;
  }
  std::lock_guard lock(mutex_);
  const std::string forgotten = "(" + std::to_string(now - FleetTimes::kForgotten.count());
  connection_->append({"ZREMRANGEBYSCORE", index_key(key_prefix_), "-inf", forgotten});
  connection_->append({"ZRANGE", index_key(key_prefix_), "0", "-1"});
  if (auto exchanged = connection_->execute(replies_); !exchanged) return exchanged.error();
  if (replies_.size() < 2 || replies_[1].is_error())
    return Failure(Errc::refused, connection_->endpoint().address() + ": " +
                                      (replies_.size() < 2 ? std::string("no reply") : replies_[1].text));
  std::vector<std::string> ids;
  for (const redis::Reply& id : replies_[1].elements) ids.push_back(id.text);
  if (ids.empty()) return std::vector<InstanceView>{};
  for (const std::string& id : ids) {
    connection_->append({"GET", sample_key(key_prefix_, id)});
    if (series) connection_->append({"LRANGE", series_key(key_prefix_, id), "0", "-1"});
  }
  if (auto exchanged = connection_->execute(replies_); !exchanged) return exchanged.error();
  std::vector<InstanceView> out;
  std::size_t reply = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const redis::Reply& text = replies_.at(reply++);
    const redis::Reply* points = series ? &replies_.at(reply++) : nullptr;
    if (text.type != redis::Reply::Type::string) continue;  // expired between the two reads
    Result<Sample> sample = sample_from_json(text.text);
    if (!sample) continue;  // another program's key: not ours to show
    InstanceView view{.latest = std::move(*sample), .online = false, .series = {}};
    view.online = online(view.latest);
    if (points != nullptr) {
      for (const redis::Reply& entry : points->elements) {
        if (Result<Point> point = point_from_json(entry.text)) view.series.push_back(*point);
      }
    }
    out.push_back(std::move(view));
  }
  std::sort(out.begin(), out.end(),
            [](const InstanceView& a, const InstanceView& b) { return a.latest.instance < b.latest.instance; });
  return out;
}

}  // namespace traffic::fleet
