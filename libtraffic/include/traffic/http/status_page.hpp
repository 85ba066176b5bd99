#pragma once
// The fleet dashboard's page (`GET /status`, docs/fleet.md) and its login form: whole
// documents with their script and styles inline — embedded in the binary, no build step,
// nothing fetched from elsewhere. The page reads `/admin/fleet?series=1` once and then the
// `/status/events` stream, and draws its charts as plain SVG.

#include <string_view>

namespace traffic::http {

[[nodiscard]] std::string_view status_page() noexcept;
/// The login form; `refused` adds the line saying the token was wrong.
[[nodiscard]] std::string_view status_login_page(bool refused) noexcept;

}  // namespace traffic::http
