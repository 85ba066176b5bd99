// decide() and the URL builder must not touch the heap on the common path (ARCHITECTURE
// habit 8). This binary replaces the global operator new to count allocations, so it is
// its own executable.

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "test_support.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/testing/fake_clock.hpp"
#include "traffic/url/redirect_url.hpp"

// The replacement operator delete frees with free() what the replacement operator new got
// from malloc(); GCC cannot see that pairing once it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<std::size_t> g_allocations{0};
thread_local bool t_counting = false;
}  // namespace

void* operator new(std::size_t size) {
  if (t_counting) g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace traffic {
namespace {

// Counts the allocations `body` makes on this thread.
template <class Body>
std::size_t allocations_in(Body&& body) {
  g_allocations = 0;
  t_counting = true;
  body();
  t_counting = false;
  return g_allocations.load();
}

class AllocationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    recipe::LoadReport report;
    auto offers = recipe::load_offers(test::read_data("recipes/offersRecipe.json.gz"), report);
    auto campaigns = recipe::load_campaigns(test::read_data("recipes/campaignsRecipe.json.gz"), report);
    snapshot = recipe::Snapshot::build(std::move(*offers), std::move(*campaigns), 1);
  }
  rules::Decision decide(recipe::RecordId offer, recipe::RecordId campaign, std::string_view country) {
    rules::Context context;
    context.offer_id = offer;
    context.campaign_id = campaign;
    context.country = *CountryCode::parse(country);
    return engine.decide(context, *snapshot, counters, clock, random);
  }

  std::shared_ptr<const recipe::Snapshot> snapshot;
  rules::Engine engine;
  counters::InMemoryCounters counters;
  test::FakeClock clock{*parse_iso8601("2026-06-15T12:00:00Z")};
  FastRandom random{1};
};

TEST_F(AllocationTest, TheCounterSeesAllocations) {
  EXPECT_GT(allocations_in([] { std::string grown(100, 'x'); }), 0U);
}

TEST_F(AllocationTest, DecideDoesNotAllocateOnAnyRuleOfTheSampleRecipe) {
  // (offer, campaign, country) of one click per rule: default, geo block, allow-list,
  // custom LP, date window, caps over/under, per-geo payout, live caps, rotation, exit chain,
  // campaign caps, missing exit offer, inactive-offer switch, blocks.
  const std::tuple<recipe::RecordId, recipe::RecordId, const char*> clicks[] = {
      {100, 10, "US"}, {110, 12, "US"}, {120, 13, "SE"}, {111, 14, "US"}, {112, 15, "US"}, {116, 16, "US"},
      {113, 17, "US"}, {114, 18, "US"}, {115, 19, "US"}, {117, 20, "US"}, {200, 21, "US"}, {201, 22, "US"},
      {140, 23, "US"}, {150, 24, "US"}, {160, 25, "US"}, {300, 32, "US"}, {100, 30, "US"}, {999, 10, "US"},
  };
  // Warm up: the counters' maps grow on first use of each key.
  for (const auto& [offer, campaign, country] : clicks) {
    decide(offer, campaign, country);
    counters.record_click(offer, campaign, clock.now());
  }
  for (const auto& [offer, campaign, country] : clicks) {
    rules::Decision decision;
    EXPECT_EQ(allocations_in([&] { decision = decide(offer, campaign, country); }), 0U)
        << "offer " << offer << " campaign " << campaign;
    EXPECT_GT(decision.trace.size(), 0U);
  }
}

TEST_F(AllocationTest, UrlBuilderDoesNotAllocateOnceItsBufferHasGrown) {
  url::UrlSettings settings;
  settings.hash_secret = "urlsecret";
  const url::UrlBuilder builder(settings);
  url::Placeholders values;
  values.subid = "sub id";
  values.lid = "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10";
  const url::TrackingParams tracking{100, 10, values.lid, 7};
  const char* page = "https://lp.example.com/path?x=1&sub={subid}&l={lid}&l2={lid}";
  std::string out;
  builder.build(page, values, tracking, out);  // grows `out` and the per-thread scratch
  EXPECT_EQ(allocations_in([&] { builder.build(page, values, tracking, out); }), 0U);
  const char* unsafe = "https://lp.example.com/a path/{subid}";
  builder.build(unsafe, values, tracking, out);
  builder.build(unsafe, values, tracking, out);
  EXPECT_EQ(allocations_in([&] { builder.build(unsafe, values, tracking, out); }), 0U);
}

}  // namespace
}  // namespace traffic
