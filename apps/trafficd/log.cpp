#include "log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <boost/json.hpp>

namespace trafficd::log {
namespace {

spdlog::logger& logger() {
  // Plain (uncoloured) stderr, UTC timestamps; the message part is JSON we build.
  static const std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_logger_mt("trafficd");
    l->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v)", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *instance;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

void init(std::string_view level) {
  static constexpr std::pair<std::string_view, Level> kLevels[] = {{"trace", Level::trace}, {"debug", Level::debug},
                                                                   {"info", Level::info},   {"warn", Level::warn},
                                                                   {"error", Level::error}, {"off", Level::off}};
  for (const auto& [name, value] : kLevels) {
    if (name == level) logger().set_level(to_spdlog(value));
  }
}

void write(Level level, std::string_view message, const boost::json::object& fields) {
  const auto spd = to_spdlog(level);
  if (!logger().should_log(spd)) return;
  boost::json::object line;
  line["msg"] = message;
  for (const auto& [key, value] : fields) line[key] = value;
  std::string text = boost::json::serialize(line);
  // The pattern supplies the opening brace and the first fields: drop our opening brace.
  logger().log(spd, std::string_view(text).substr(1));
}

}  // namespace trafficd::log
