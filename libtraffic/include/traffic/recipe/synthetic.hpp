#pragma once
// Synthetic but realistic recipes, for benchmarks and load tests.

#include <cstdint>
#include <filesystem>
#include <string>

namespace traffic::recipe {

struct SyntheticOptions {
  std::size_t offers = 1000;
  std::size_t campaigns = 10000;
  std::uint64_t seed = 1;
  int gzip_level = 6;  ///< 1 = fastest, 9 = smallest
};

/// What was written.
struct SyntheticFiles {
  std::filesystem::path offers;     ///< <dir>/offersRecipe.json.gz
  std::filesystem::path campaigns;  ///< <dir>/campaignsRecipe.json.gz
  std::size_t offers_json_bytes = 0;
  std::size_t campaigns_json_bytes = 0;
};

/// Writes a recipe in the producer's own loose format (money as numbers and decimal
/// strings, JSON inside strings, nulls, MySQL booleans) in which every rule kind of
/// SPEC.md §7 occurs: geo allow/block lists, custom landing pages, payouts per geo, date
/// windows, offer and campaign caps, exit chains, aggregated offers, inactive offers and
/// blocked campaigns. Offer ids start at 1000, campaign ids at 1000000; the same options
/// always give the same bytes. Throws std::runtime_error on I/O failure.
SyntheticFiles write_synthetic_recipe(const SyntheticOptions& options, const std::filesystem::path& dir);

}  // namespace traffic::recipe
