#pragma once
// The storage behind Snapshot: a large immutable base table plus a small copy-on-write
// overlay of single-record updates. Not part of the public interface; included by
// snapshot.hpp so lookups can inline.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <memory>
#include <vector>

#include "traffic/common/time.hpp"
#include "traffic/recipe/records.hpp"

namespace traffic::recipe::detail {

template <class Record>
struct BaseTable {
  std::vector<Record> records;
  boost::unordered_flat_map<RecordId, std::uint32_t> index;  ///< id → position in records
};

template <class Record>
struct OverlayEntry {
  std::shared_ptr<const Record> record;  ///< null: deleted
  TimestampMs updated_at = 0;
};

template <class Record>
using Overlay = boost::unordered_flat_map<RecordId, OverlayEntry<Record>>;

template <class Record>
struct RecordTable {
  std::shared_ptr<const BaseTable<Record>> base;
  std::shared_ptr<const Overlay<Record>> overlay;  ///< null until the first update
  std::size_t count = 0;

  const Record* find(RecordId id) const noexcept {
    if (overlay) {
      if (auto it = overlay->find(id); it != overlay->end()) return it->second.record.get();
    }
    if (auto it = base->index.find(id); it != base->index.end()) return &base->records[it->second];
    return nullptr;
  }
};

}  // namespace traffic::recipe::detail
