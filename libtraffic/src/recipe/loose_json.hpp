#pragma once
// Readers for the producer's loose JSON values (private to the recipe component).
// Each returns nullopt for "absent" (null, empty string) and reports a problem, through
// the FieldSink, for a value of the wrong shape.

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "traffic/recipe/loader.hpp"

namespace traffic::recipe::detail {

/// Where a record parser reports malformed fields.
class FieldSink {
 public:
  FieldSink(LoadReport& report, RecordKind kind) : report_(report), kind_(kind) {}
  void set_id(RecordId id) noexcept { id_ = id; }
  void malformed(std::string_view field, std::string_view reason) { report_.add_problem(kind_, id_, field, reason); }
  LoadReport& report() noexcept { return report_; }

 private:
  LoadReport& report_;
  RecordKind kind_;
  RecordId id_ = 0;
};

/// Non-negative integer id: a number with no fraction or a digit string. null/"" → 0.
std::optional<RecordId> read_id(const boost::json::value& v, std::string_view field, FieldSink& sink);
std::optional<std::int64_t> read_int(const boost::json::value& v, std::string_view field, FieldSink& sink);
std::optional<Money> read_money(const boost::json::value& v, std::string_view field, FieldSink& sink);
/// true/false, 1/0, "1"/"0", "true"/"false".
std::optional<bool> read_bool(const boost::json::value& v, std::string_view field, FieldSink& sink);
/// Strings as they are; numbers as their text (MySQL varchar columns sometimes arrive so).
std::string read_string(const boost::json::value& v, std::string_view field, FieldSink& sink);
/// ISO-8601 text or epoch milliseconds.
std::optional<TimestampMs> read_time(const boost::json::value& v, std::string_view field, FieldSink& sink);
/// A field that may hold JSON inside a string, or the JSON value itself. Returns the
/// parsed value (null for absent); reports and returns nullopt when malformed.
std::optional<boost::json::value> read_embedded_json(const boost::json::value& v, std::string_view field,
                                                     FieldSink& sink, std::size_t max_depth);
/// "US,CA" or ["US","CA"]; bad tokens are reported and skipped.
std::vector<CountryCode> read_country_list(const boost::json::value& v, std::string_view field, FieldSink& sink);

}  // namespace traffic::recipe::detail
