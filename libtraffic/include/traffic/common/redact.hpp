#pragma once
// Secrets out of what is logged or shown: sink URLs, recipe URLs and any text holding URLs
// (used by the configuration, the recipe sources and the sinks alike).

#include <string>
#include <string_view>

namespace traffic {

/// `text` with the user-info of every URL in it (`user:password@`) replaced by `***@`.
[[nodiscard]] std::string redact_credentials(std::string_view text);

}  // namespace traffic
