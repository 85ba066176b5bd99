#pragma once
// Structured logging: one JSON object per line on stderr
// ({"time":…,"level":…,"msg":…, fields…}). Nothing is logged per click at the default level.

#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace trafficd::log {

enum class Level { trace, debug, info, warn, error, off };

/// Sets the threshold ("trace" … "off"); before it is called, "info".
void init(std::string_view level);
void write(Level level, std::string_view message, const boost::json::object& fields = {});

inline void info(std::string_view message, const boost::json::object& fields = {}) {
  write(Level::info, message, fields);
}
inline void warn(std::string_view message, const boost::json::object& fields = {}) {
  write(Level::warn, message, fields);
}
inline void error(std::string_view message, const boost::json::object& fields = {}) {
  write(Level::error, message, fields);
}

}  // namespace trafficd::log
