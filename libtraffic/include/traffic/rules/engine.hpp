#pragma once
// The rule engine: a pure function from (request context, recipe snapshot, counters, clock,
// random) to a Decision — SPEC.md §7. docs/rules.md describes every rule and text it emits.

#include <string>

#include "traffic/common/clock.hpp"
#include "traffic/common/random.hpp"
#include "traffic/counters/counters.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/context.hpp"
#include "traffic/rules/decision.hpp"

namespace traffic::rules {

/// The network-wide choices the rules need. Defaults are the old service's non-production
/// values (its production default campaign was 1005032).
struct EngineSettings {
  recipe::RecordId default_offer_id = 36303;       ///< where traffic goes when a target is missing (§7.2)
  recipe::RecordId default_campaign_id = 1000976;  ///< inactive offers switch to it (§4.1)
  std::string fallback_url;                        ///< last-resort landing page; "" = none (the click gets a 404)
  bool strict_link_pair = false;                   ///< block links whose campaign names another offer (§3)
  unsigned max_exit_hops = 10;                     ///< exit chains longer than this go to the default offer
};

struct DecideOptions {
  /// Debug and explain requests: decide exactly as for a click, but move no counter (the
  /// rotation pick is not counted). Live counts are read either way.
  bool dry_run = false;
};

/// Applies the rules of §7 in order, with the override and exit-chain semantics of §7.2.
///
/// Deterministic: the same inputs (including what the clock, the random source and the
/// counters return) give the same Decision. No I/O, no exceptions, no heap allocation on
/// the common path (an aggregated offer with more than 32 children is the exception).
///
/// Thread-safety: an Engine is immutable and may be shared; `random` must not be shared
/// between threads (use one per thread); `counters` must be thread-safe (CountersView says
/// so). Cost: ~0.1–0.5 µs per click (docs/benchmarks.md).
class Engine {
 public:
  explicit Engine(EngineSettings settings = {});

  /// Decides one click. The Decision points into `snapshot` (and into this Engine for the
  /// fallback URL): keep both alive while using it.
  [[nodiscard]] Decision decide(const Context& context, const recipe::Snapshot& snapshot,
                                counters::CountersView& counters, const Clock& clock, Random& random,
                                DecideOptions options = {}) const;

  [[nodiscard]] const EngineSettings& settings() const noexcept { return settings_; }

 private:
  EngineSettings settings_;
};

}  // namespace traffic::rules
