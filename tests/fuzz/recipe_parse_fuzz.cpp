// Fuzzes the recipe loader (offers, campaigns and update messages) with arbitrary bytes:
// never a crash, every record that loads has a positive id, and every record the mirror
// would write (for_each_record_json) is valid JSON.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  traffic::recipe::LoadLimits limits;
  limits.max_json_bytes = 1 << 22;
  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  auto offers = traffic::recipe::load_offers(bytes, offers_report, limits);
  auto campaigns = traffic::recipe::load_campaigns(bytes, campaigns_report, limits);
  if (offers && campaigns) {
    for (const auto& o : *offers) {
      if (o.id <= 0) std::abort();
    }
    auto snapshot = traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns));
    if (snapshot->offer_count() != offers_report.loaded) std::abort();
  }
  traffic::recipe::LoadReport mirror_report;
  (void)traffic::recipe::for_each_record_json(
      bytes, traffic::recipe::RecordKind::offer, mirror_report,
      [&](traffic::recipe::RecordId id, std::string_view compact) {
        boost::json::parse_options options;
        options.max_depth = limits.max_depth;
        boost::system::error_code ec;
        boost::json::parse(compact, ec, {}, options);
        if (id <= 0 || ec) std::abort();
      },
      limits);
  traffic::recipe::LoadReport update_report;
  (void)traffic::recipe::parse_update(bytes, update_report, limits);
  return 0;
}
