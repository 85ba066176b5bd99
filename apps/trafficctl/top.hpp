#pragma once
// `trafficctl top`: the fleet view in a terminal (docs/fleet.md), refreshed in place once a
// second like htop — every instance's clicks/s, p50/p99, errors, CPU, memory, backlog, sink
// lag and recipe. Plain ANSI escapes (works over ssh); keys: q quits, c / p / l sort by
// clicks/s, p99, lag. Ctrl-C quits too, leaving the terminal as it found it.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "traffic/fleet/reporter.hpp"

namespace trafficctl {

enum class TopSort : unsigned char { clicks, p99, lag, name };

struct TopOptions {
  std::string url;    ///< a trafficd's base URL: its /admin/fleet (without Redis); default: Redis
  std::string token;  ///< ADMIN_TOKEN for --url (default $ADMIN_TOKEN)
  std::string sort = "clicks";
  unsigned interval_ms = 1'000;
  bool once = false;  ///< print one table and exit (scripts, tests)

  void add_to(CLI::App& command);
};

/// The table for `instances` (the fleet total last), `width` columns at most.
[[nodiscard]] std::string render_top(std::vector<traffic::fleet::InstanceView> instances, TopSort sort,
                                     std::size_t width);

/// Runs `trafficctl top`. Returns the process exit code.
int top(const TopOptions& options);

}  // namespace trafficctl
