#pragma once
// The click id (lid): a UUID v4, minted per click (SPEC.md §1, §9).

#include <array>
#include <string_view>

#include "traffic/common/random.hpp"

namespace traffic::lid {

/// A lid as text: 36 characters, "xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx", lower-case.
class Lid {
 public:
  static constexpr std::size_t kSize = 36;
  [[nodiscard]] std::string_view view() const noexcept { return {text_.data(), kSize}; }
  friend bool operator==(const Lid&, const Lid&) = default;

 private:
  friend Lid new_lid(Random& random) noexcept;
  std::array<char, kSize> text_{};
};

/// 122 random bits from `random` (use a FastRandom per thread: seeded from the kernel, so
/// instances and restarts never repeat a sequence). ~10 ns, no allocation.
[[nodiscard]] Lid new_lid(Random& random) noexcept;

/// True for a UUID v4 in the canonical form, either case (postbacks quote lids back).
[[nodiscard]] bool is_lid(std::string_view text) noexcept;

}  // namespace traffic::lid
