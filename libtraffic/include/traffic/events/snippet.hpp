#pragma once
// The site snippet served at GET /t.js (SPEC.md §13, docs/events.md).

#include <string_view>

namespace traffic::events {

/// The script sites include (`<script src="https://track.example/t.js" async></script>`):
/// a pageView on load; an adImpression when an element with `data-ad-id` is at least half
/// visible for a second (IntersectionObserver); an adClick when it is clicked; all sent to
/// the `/event` of the host it was loaded from with navigator.sendBeacon. No dependencies;
/// under 3 KB. `data-website` and `data-user-id` on the script element set those fields.
[[nodiscard]] std::string_view site_snippet() noexcept;

}  // namespace traffic::events
