#pragma once
// The click record: one JSON object per click, the warehouse row (SPEC.md §9).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "traffic/common/time.hpp"
#include "traffic/device/detector.hpp"
#include "traffic/rules/context.hpp"
#include "traffic/rules/decision.hpp"

namespace traffic::lid {

/// What the request and the pipeline know about a click besides the decision.
struct ClickFacts {
  std::string_view lid;
  std::string_view landing_page;  ///< the redirect URL as sent in `Location`
  std::string_view sub_campaign;  ///< `subid`
  std::string_view cid;
  std::string_view domain;     ///< `Host`
  std::string_view ad_domain;  ///< the `ad_domain` query parameter: where the ad ran, as the publisher says
  std::string_view ad_path;    ///< request target: path and query
  std::string_view ip;         ///< the client address, as text
  std::string_view user_agent;
  std::string_view referer;
  std::string_view fingerprint;  ///< empty when unique-visit tracking is off
  bool is_unique_visit = false;
  TimestampMs date_added = 0;              ///< epoch ms
  std::uint64_t decision_ns = 0;           ///< time spent deciding, for latency analysis
  std::string_view event = "traffic-api";  ///< "traffic-bonus" for conversions, "traffic-manually" for resends
  std::string_view event_type = "click";
};

/// The values a visitor controls. Each is cut in the record at a byte bound (at a UTF-8
/// character boundary), so that a record stays small whatever a request carries: a click
/// with 4 KB subids would otherwise make a 25 KB record, kept by the spool, every sink's
/// buffers and the lid store (docs/click-pipeline.md, "Bounded values").
enum class BoundedField : std::uint8_t {
  sub_campaign,
  cid,
  domain,
  referer,
  ad_path,
  user_agent,
  landing_page,
  ad_domain,
};
inline constexpr std::size_t kBoundedFields = 8;  // at most 8: TruncatedFields has a bit for each
/// Bytes kept of each BoundedField, in its order.
inline constexpr std::array<std::size_t, kBoundedFields> kBoundedFieldBytes = {1024, 1024, 256,  2048,
                                                                               2048, 1024, 4096, 256};
[[nodiscard]] std::string_view to_string(BoundedField field) noexcept;
/// The fields a record cut: bit `1 << BoundedField` for each.
using TruncatedFields = std::uint8_t;

/// Appends the record of a redirecting `decision` to `out` as one line of JSON with its
/// trailing '\n'. Field names and meanings are the old service's (docs/click-pipeline.md).
/// Strings are escaped and any byte sequence that is not UTF-8 becomes U+FFFD, so the line
/// is valid JSON whatever a visitor sent. Money is printed exactly ("9.5", "0").
/// Appends into the caller's buffer: no allocation once the buffer has grown. Returns the
/// values it cut to their bound (for the metric).
TruncatedFields append_click_record(std::string& out, const rules::Decision& decision, const rules::Context& context,
                                    const device::DeviceInfo& device, const ClickFacts& facts);

/// Reading a field back from a record line written above, without parsing it: the value of
/// a string field `"name":"…"` (not unescaped: for lids and event names, which never need
/// it), "" when absent; and of an integer field `"name":123`, 0 when absent. The sinks use
/// them to key records; postbacks parse records fully.
[[nodiscard]] std::string_view record_field(std::string_view record, std::string_view name) noexcept;
[[nodiscard]] std::int64_t record_number(std::string_view record, std::string_view name) noexcept;

}  // namespace traffic::lid
