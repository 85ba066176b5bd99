#pragma once
// `trafficctl stats pages|ads`: the event analytics in Redis (docs/events.md), as tables.

#include <CLI/CLI.hpp>
#include <string>

namespace trafficctl {

struct StatsOptions {
  std::string website;
  std::string ad_id;
  std::string from;  ///< YYYY-MM-DD; default: six days before `to`
  std::string to;    ///< YYYY-MM-DD; default: today (UTC)
  bool json = false;

  void add_to(CLI::App& command);
};

enum class StatsReport : unsigned char { pages, ads };

/// Reads the analytics from the Redis of trafficd's configuration (REDIS_HOST, … from the
/// environment and .env) and prints them. Returns the process exit code.
int stats(StatsReport report, const StatsOptions& options);

}  // namespace trafficctl
