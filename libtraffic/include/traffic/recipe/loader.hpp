#pragma once
// Parsing the producer's recipe files (gzip'd JSON arrays) into typed records.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "traffic/recipe/records.hpp"

namespace traffic::recipe {

/// Why a whole file (or update message) was refused. Record-level trouble never refuses a
/// file: it is counted in LoadReport instead.
enum class LoadError {
  invalid_gzip = 1,  ///< gzip magic present but the stream is corrupt
  truncated_gzip,    ///< the gzip stream ends before its trailer
  too_large,         ///< uncompressed JSON above LoadLimits::max_json_bytes
  invalid_json,      ///< not JSON (LoadReport::error_detail says where)
  too_deep,          ///< nesting beyond LoadLimits::max_depth
  not_an_array,      ///< valid JSON, but the top level is not an array
  empty_recipe,      ///< would replace a non-empty recipe with an empty one
  invalid_update,    ///< an update message missing type/id/action/body, or with a bad body
};

const boost::system::error_category& load_error_category() noexcept;
boost::system::error_code make_error_code(LoadError e) noexcept;

enum class RecordKind : std::uint8_t { offer, campaign };
std::string_view to_string(RecordKind kind) noexcept;

/// One record-level problem: a malformed field (the rule it feeds is disabled for that
/// record) or a skipped element.
struct Problem {
  RecordKind kind = RecordKind::offer;
  RecordId id = 0;  ///< 0 when the element had no usable id
  std::string field;
  std::string reason;
};

/// What a load found, for operators (`trafficctl recipe validate`, the daemon's log).
struct LoadReport {
  static constexpr std::size_t kMaxProblemsKept = 200;

  std::size_t input_bytes = 0;         ///< as given (compressed or not)
  std::size_t json_bytes = 0;          ///< uncompressed JSON
  std::size_t elements = 0;            ///< array elements seen
  std::size_t loaded = 0;              ///< records kept
  std::size_t skipped_not_object = 0;  ///< elements that are not objects
  std::size_t skipped_bad_id = 0;      ///< objects without a positive id
  std::size_t duplicate_ids = 0;       ///< later duplicates replace earlier ones
  std::size_t malformed_fields = 0;    ///< every malformed field, kept or not below
  std::vector<Problem> problems;       ///< the first kMaxProblemsKept problems
  std::string error_detail;            ///< for a refused file: where and why

  void add_problem(RecordKind kind, RecordId id, std::string_view field, std::string_view reason);
};

/// Resource bounds applied to untrusted recipe input.
struct LoadLimits {
  std::size_t max_json_bytes = std::size_t{8} << 30;  ///< uncompressed size
  std::size_t max_depth = 64;                         ///< JSON nesting
};

/// Parses an offers file (gzip or plain JSON array). Duplicate ids: the later one wins.
/// Throws only std::bad_alloc.
boost::system::result<std::vector<Offer>> load_offers(std::string_view bytes, LoadReport& report,
                                                      const LoadLimits& limits = {});
boost::system::result<std::vector<Campaign>> load_campaigns(std::string_view bytes, LoadReport& report,
                                                            const LoadLimits& limits = {});

/// Each element of a recipe file (gzip or plain JSON array) that has a positive id, given to
/// `on_record` as that id and the element's compact JSON — for copies of the recipe kept
/// elsewhere (the Redis mirror). Other elements are counted in `report` and skipped; a
/// later duplicate is given again. Fails as load_offers/load_campaigns do on a bad file.
boost::system::result<void> for_each_record_json(std::string_view bytes, RecordKind kind, LoadReport& report,
                                                 const std::function<void(RecordId, std::string_view)>& on_record,
                                                 const LoadLimits& limits = {});

enum class UpdateAction : std::uint8_t { update_or_create, remove };

/// A single-record change (SPEC.md §6): `{type, id, action, body, timestamp, comments?}`.
struct RecordUpdate {
  RecordKind kind = RecordKind::offer;
  RecordId id = 0;
  UpdateAction action = UpdateAction::update_or_create;
  TimestampMs timestamp = 0;
  std::shared_ptr<const Offer> offer;        ///< set for offer upserts
  std::shared_ptr<const Campaign> campaign;  ///< set for campaign upserts
};

/// Parses an update message. `body` is the record JSON (a string holding JSON, or an
/// object); its id must equal `id`. `timestamp` is epoch ms (number) or ISO-8601 text.
boost::system::result<RecordUpdate> parse_update(std::string_view message, LoadReport& report,
                                                 const LoadLimits& limits = {});

}  // namespace traffic::recipe

template <>
struct boost::system::is_error_code_enum<traffic::recipe::LoadError> : std::true_type {};
