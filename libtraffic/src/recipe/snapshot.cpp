#include "traffic/recipe/snapshot.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace traffic::recipe {
namespace {

template <class Record>
detail::RecordTable<Record> make_table(std::vector<Record> records) {
  if (records.size() > std::numeric_limits<std::uint32_t>::max()) throw std::length_error("recipe too large");
  auto base = std::make_shared<detail::BaseTable<Record>>();
  base->index.reserve(records.size());
  std::size_t kept = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto [it, inserted] = base->index.try_emplace(records[i].id, static_cast<std::uint32_t>(kept));
    if (inserted) {
      if (kept != i) records[kept] = std::move(records[i]);
      ++kept;
    } else {
      records[it->second] = std::move(records[i]);
    }
  }
  records.resize(kept);
  base->records = std::move(records);
  detail::RecordTable<Record> table;
  table.count = base->records.size();
  table.base = std::move(base);
  return table;
}

template <class Record, class Visit>
void visit_all(const detail::RecordTable<Record>& table, const Visit& visit) {
  for (const Record& record : table.base->records) {
    if (table.overlay && table.overlay->contains(record.id)) continue;
    visit(record);
  }
  if (table.overlay) {
    for (const auto& [id, entry] : *table.overlay) {
      if (entry.record) visit(*entry.record);
    }
  }
}

// Folding the overlay into a new base costs a copy of every record, so it happens only
// once the overlay is large enough to slow lookups or hold much memory.
template <class Record>
bool overlay_due_for_compaction(const detail::RecordTable<Record>& table) {
  const std::size_t threshold = std::max<std::size_t>(4096, table.base->records.size() / 64);
  return table.overlay && table.overlay->size() > threshold;
}

template <class Record>
detail::RecordTable<Record> with_record(const detail::RecordTable<Record>& table, RecordId id,
                                        std::shared_ptr<const Record> record, TimestampMs at) {
  const bool existed = table.find(id) != nullptr;
  auto overlay = table.overlay ? std::make_shared<detail::Overlay<Record>>(*table.overlay)
                               : std::make_shared<detail::Overlay<Record>>();
  const bool exists = record != nullptr;
  (*overlay)[id] = detail::OverlayEntry<Record>{std::move(record), at};
  detail::RecordTable<Record> next;
  next.base = table.base;
  next.overlay = std::move(overlay);
  next.count = table.count + (exists && !existed ? 1 : 0) - (!exists && existed ? 1 : 0);
  if (overlay_due_for_compaction(next)) {
    std::vector<Record> records;
    records.reserve(next.count);
    visit_all(next, [&](const Record& r) { records.push_back(r); });
    auto timestamps = next.overlay;
    next = make_table(std::move(records));
    // Keep the update timestamps (not the records) so out-of-order detection survives.
    auto stamps = std::make_shared<detail::Overlay<Record>>();
    for (const auto& [rid, entry] : *timestamps) {
      if (!entry.record) (*stamps)[rid] = detail::OverlayEntry<Record>{nullptr, entry.updated_at};
    }
    if (!stamps->empty()) next.overlay = std::move(stamps);
  }
  return next;
}

}  // namespace

std::shared_ptr<const Snapshot> Snapshot::build(std::vector<Offer> offers, std::vector<Campaign> campaigns,
                                                std::uint64_t version) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->offers_ = make_table(std::move(offers));
  snapshot->campaigns_ = make_table(std::move(campaigns));
  snapshot->version_ = version;
  return snapshot;
}

void Snapshot::for_each_offer(const std::function<void(const Offer&)>& visit) const {
  visit_all(offers_, visit);
}

void Snapshot::for_each_campaign(const std::function<void(const Campaign&)>& visit) const {
  visit_all(campaigns_, visit);
}

std::optional<TimestampMs> Snapshot::last_update(RecordKind kind, RecordId id) const noexcept {
  auto lookup = [id](const auto& table) -> std::optional<TimestampMs> {
    if (!table.overlay) return std::nullopt;
    auto it = table.overlay->find(id);
    if (it == table.overlay->end()) return std::nullopt;
    return it->second.updated_at;
  };
  return kind == RecordKind::offer ? lookup(offers_) : lookup(campaigns_);
}

std::shared_ptr<const Snapshot> Snapshot::with_update(const RecordUpdate& update, std::uint64_t version) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->version_ = version;
  const bool remove = update.action == UpdateAction::remove;
  if (update.kind == RecordKind::offer) {
    next->offers_ = with_record(offers_, update.id, remove ? nullptr : update.offer, update.timestamp);
  } else {
    next->campaigns_ = with_record(campaigns_, update.id, remove ? nullptr : update.campaign, update.timestamp);
  }
  return next;
}

std::shared_ptr<const Snapshot> Snapshot::renumbered(std::uint64_t version) const {
  auto next = std::make_shared<Snapshot>(*this);
  next->version_ = version;
  return next;
}

}  // namespace traffic::recipe
