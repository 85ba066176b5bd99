#pragma once
// Counters whose live counts the test sets directly, and which remember rotation calls.

#include <map>
#include <span>
#include <utility>
#include <vector>

#include "traffic/counters/counters.hpp"

namespace traffic::test {

class FakeCounters final : public counters::CountersView {
 public:
  struct PickCall {
    recipe::RecordId campaign;
    std::vector<recipe::RecordId> children;
    std::uint64_t tie_breaker;
    bool count_pick;
  };

  void set_live(counters::CounterScope scope, recipe::RecordId id, counters::LiveCounts counts) {
    live_[{scope, id}] = counts;
  }

  [[nodiscard]] counters::LiveCounts live_counts(counters::CounterScope scope, recipe::RecordId id,
                                                 TimestampMs at) const override {
    last_read_at_ = at;
    ++reads_;
    auto it = live_.find({scope, id});
    return it == live_.end() ? counters::LiveCounts{} : it->second;
  }

  std::size_t pick_least_served(recipe::RecordId campaign, std::span<const recipe::RecordId> children,
                                std::uint64_t tie_breaker, bool count_pick) override {
    picks_.push_back({campaign, {children.begin(), children.end()}, tie_breaker, count_pick});
    return rotation_.pick_least_served(campaign, children, tie_breaker, count_pick);
  }
  void return_pick(recipe::RecordId campaign, recipe::RecordId child) override {
    rotation_.return_pick(campaign, child);
  }

  void record_click(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override {
    recorded_clicks_.push_back({offer, campaign, at});
  }
  void record_sale(recipe::RecordId offer, recipe::RecordId campaign, TimestampMs at) override {
    recorded_sales_.push_back({offer, campaign, at});
  }

  struct Recorded {
    recipe::RecordId offer;
    recipe::RecordId campaign;
    TimestampMs at;
  };
  [[nodiscard]] const std::vector<Recorded>& recorded_clicks() const noexcept { return recorded_clicks_; }
  [[nodiscard]] const std::vector<Recorded>& recorded_sales() const noexcept { return recorded_sales_; }
  [[nodiscard]] const std::vector<PickCall>& picks() const noexcept { return picks_; }
  [[nodiscard]] std::size_t reads() const noexcept { return reads_; }
  [[nodiscard]] TimestampMs last_read_at() const noexcept { return last_read_at_; }
  counters::InMemoryCounters& rotation() noexcept { return rotation_; }

 private:
  std::map<std::pair<counters::CounterScope, recipe::RecordId>, counters::LiveCounts> live_;
  std::vector<PickCall> picks_;
  std::vector<Recorded> recorded_clicks_;
  std::vector<Recorded> recorded_sales_;
  counters::InMemoryCounters rotation_;
  mutable std::size_t reads_ = 0;
  mutable TimestampMs last_read_at_ = 0;
};

}  // namespace traffic::test
