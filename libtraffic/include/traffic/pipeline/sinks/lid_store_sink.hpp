#pragma once
// The sink that fills the lid store (lid/lid_store.hpp) from the spool, so postbacks can
// find a click's record without the request path ever writing the store.

#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "traffic/common/time.hpp"
#include "traffic/lid/lid_store.hpp"
#include "traffic/pipeline/sink.hpp"

namespace traffic::pipeline {

/// Feeds a LidStore from the spool: each click record (event "traffic-api") under its lid.
class LidStoreSink final : public Sink {
 public:
  LidStoreSink(lid::LidStore& store, std::function<TimestampMs()> now) : store_(store), now_(std::move(now)) {}
  Result<> deliver(std::span<const std::string_view> records) override;

 private:
  lid::LidStore& store_;
  std::function<TimestampMs()> now_;
  std::vector<lid::LidRecord> batch_;
};

}  // namespace traffic::pipeline
