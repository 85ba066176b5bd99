#include "traffic/pipeline/sinks/lid_store_sink.hpp"

#include "traffic/lid/click_record.hpp"

namespace traffic::pipeline {

Result<> LidStoreSink::deliver(std::span<const std::string_view> records) {
  batch_.clear();
  for (std::string_view record : records) {
    if (lid::record_field(record, "event") != "traffic-api") continue;  // conversions and resends are not clicks
    const std::string_view lid = lid::record_field(record, "lid");
    if (lid.empty()) continue;
    if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
    batch_.push_back({lid, record});
  }
  if (batch_.empty()) return {};
  return store_.put_many(batch_, now_());
}

}  // namespace traffic::pipeline
