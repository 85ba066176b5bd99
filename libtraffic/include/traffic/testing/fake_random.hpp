#pragma once
// A random source that plays back a script (then repeats its last value).

#include <cstdint>
#include <utility>
#include <vector>

#include "traffic/common/random.hpp"

namespace traffic::test {

class FakeRandom final : public Random {
 public:
  explicit FakeRandom(std::vector<std::uint64_t> script = {0}) : script_(std::move(script)) {}
  [[nodiscard]] std::uint64_t next() noexcept override {
    ++calls_;
    if (script_.empty()) return 0;
    const std::uint64_t value = script_[position_];
    if (position_ + 1 < script_.size()) ++position_;
    return value;
  }
  [[nodiscard]] std::size_t calls() const noexcept { return calls_; }

 private:
  std::vector<std::uint64_t> script_;
  std::size_t position_ = 0;
  std::size_t calls_ = 0;
};

}  // namespace traffic::test
