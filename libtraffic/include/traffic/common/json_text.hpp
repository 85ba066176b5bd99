#pragma once
// JSON string literals from arbitrary bytes: what records carry of what visitors send (user
// agents, referrers, query values) is escaped here, and any byte sequence that is not UTF-8
// becomes U+FFFD, so every record is valid JSON whatever a request carried.

#include <string>
#include <string_view>

namespace traffic {

/// Writes `text` as a JSON string literal (quotes included) at `out`, which has room for
/// 6 × text.size() + 2 bytes (the longest escape of one input byte is six characters);
/// returns the end. Runs of plain ASCII are copied 16 bytes at a time.
char* write_json_string(char* out, std::string_view text) noexcept;

/// Appends `text` as a JSON string literal to `out`, escaped as above.
void append_json_string(std::string& out, std::string_view text);

}  // namespace traffic
