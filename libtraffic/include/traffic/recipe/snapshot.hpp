#pragma once
// An immutable, indexed, versioned recipe.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "traffic/recipe/detail/record_table.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::recipe {

/// The whole recipe at one version: every offer and campaign, indexed by id.
///
/// Immutable once built, so any number of threads read it without locks; hold it through
/// a shared_ptr for as long as a click uses it. Lookups are one hash probe (two while
/// single-record updates are pending compaction). A single-record update (`with_update`)
/// shares the big tables and copies only a small overlay; the overlay is folded into a new
/// base table once it passes a few thousand records.
class Snapshot {
 public:
  /// Builds a snapshot from parsed records. Ids must be unique (the loader guarantees it);
  /// a later duplicate replaces an earlier one.
  static std::shared_ptr<const Snapshot> build(std::vector<Offer> offers, std::vector<Campaign> campaigns,
                                               std::uint64_t version = 0);

  [[nodiscard]] const Offer* offer(RecordId id) const noexcept { return offers_.find(id); }
  [[nodiscard]] const Campaign* campaign(RecordId id) const noexcept { return campaigns_.find(id); }
  [[nodiscard]] std::size_t offer_count() const noexcept { return offers_.count; }
  [[nodiscard]] std::size_t campaign_count() const noexcept { return campaigns_.count; }
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  [[nodiscard]] bool empty() const noexcept { return offers_.count == 0 && campaigns_.count == 0; }

  /// Visits every live record (order unspecified).
  void for_each_offer(const std::function<void(const Offer&)>& visit) const;
  void for_each_campaign(const std::function<void(const Campaign&)>& visit) const;

  /// When the record was last changed by an update message; nullopt if it never was.
  [[nodiscard]] std::optional<TimestampMs> last_update(RecordKind kind, RecordId id) const noexcept;

  /// A new snapshot with `update` applied, numbered `version` (copy-on-write).
  [[nodiscard]] std::shared_ptr<const Snapshot> with_update(const RecordUpdate& update, std::uint64_t version) const;

  /// Same records, another version number (used by Store when installing).
  [[nodiscard]] std::shared_ptr<const Snapshot> renumbered(std::uint64_t version) const;

 private:
  detail::RecordTable<Offer> offers_;
  detail::RecordTable<Campaign> campaigns_;
  std::uint64_t version_ = 0;
};

}  // namespace traffic::recipe
