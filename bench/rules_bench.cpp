// decide() and URL building on a generated recipe (default 50,000 offers / 200,000
// campaigns; TRAFFIC_BENCH_OFFERS / TRAFFIC_BENCH_CAMPAIGNS change it). Every rule kind of
// §7 occurs in the recipe (see recipe/synthetic.hpp); the click mix draws campaigns
// uniformly and visitors from eight countries. Targets: decide ≤ 1 µs median for a typical
// click, no heap allocation (tests/unit/rules/allocation_test.cpp checks that); URL ≤ 1 µs.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "traffic/common/file.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/recipe/synthetic.hpp"
#include "traffic/rules/engine.hpp"
#include "traffic/url/click_values.hpp"

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

class StoppedClock final : public traffic::Clock {
 public:
  [[nodiscard]] traffic::TimestampMs now() const noexcept override { return at_; }

 private:
  traffic::TimestampMs at_ = *traffic::parse_iso8601("2026-06-15T12:00:00Z");
};

struct Click {
  traffic::rules::Context context;
};

struct World {
  std::shared_ptr<const traffic::recipe::Snapshot> snapshot;
  std::vector<Click> mix;           // campaigns drawn uniformly
  std::vector<Click> default_rule;  // clicks the default rule decides (no rule configured)
  traffic::rules::Engine engine{[] {
    traffic::rules::EngineSettings settings;
    settings.default_offer_id = 1000;
    settings.default_campaign_id = 1000000;
    return settings;
  }()};
  traffic::counters::InMemoryCounters counters;
  StoppedClock clock;

  World() {
    traffic::recipe::SyntheticOptions options;
    options.offers = env_size("TRAFFIC_BENCH_OFFERS", 50'000);
    options.campaigns = env_size("TRAFFIC_BENCH_CAMPAIGNS", 200'000);
    options.gzip_level = 1;
    const auto dir = std::filesystem::temp_directory_path() / ("traffic-rules-bench-" + std::to_string(getpid()));
    const auto files = traffic::recipe::write_synthetic_recipe(options, dir);
    traffic::recipe::LoadReport report;
    auto offers = traffic::recipe::load_offers(traffic::read_file(files.offers), report);
    auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(files.campaigns), report);
    std::filesystem::remove_all(dir);
    snapshot = traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns), 1);

    const char* countries[] = {"US", "GB", "DE", "FR", "CA", "SE", "BR", "IN"};
    std::mt19937_64 rng(7);
    std::vector<const traffic::recipe::Campaign*> all;
    snapshot->for_each_campaign([&](const traffic::recipe::Campaign& c) { all.push_back(&c); });
    std::sort(all.begin(), all.end(), [](auto* a, auto* b) { return a->id < b->id; });
    while (mix.size() < 8192 || default_rule.size() < 1024) {
      const auto* campaign = all[rng() % all.size()];
      Click click;
      click.context.offer_id = campaign->offer_id;
      click.context.campaign_id = campaign->id;
      click.context.country = *traffic::CountryCode::parse(countries[rng() % 8]);
      click.context.device = "smartphone";
      click.context.os = "Android";
      click.context.browser = "Chrome Mobile";
      if (mix.size() < 8192) mix.push_back(click);
      traffic::FastRandom random(1);
      const auto d = engine.decide(click.context, *snapshot, counters, clock, random, {.dry_run = true});
      if (d.redirect_type == "defaultRedirection" && default_rule.size() < 1024) default_rule.push_back(click);
    }
  }
};

World& world() {
  static World w;
  return w;
}

void run_decide(benchmark::State& state, const std::vector<Click>& clicks) {
  World& w = world();
  traffic::FastRandom random(3);
  std::size_t i = 0;
  for (auto _ : state) {
    auto decision = w.engine.decide(clicks[i++ % clicks.size()].context, *w.snapshot, w.counters, w.clock, random);
    benchmark::DoNotOptimize(decision);
  }
}

void BM_DecideMix(benchmark::State& state) {
  run_decide(state, world().mix);
}
void BM_DecideDefaultRule(benchmark::State& state) {
  run_decide(state, world().default_rule);
}

// Per-click latency distribution over the mix (each click timed on its own; the clock
// read adds ~20 ns to every sample).
void BM_DecideMixPercentiles(benchmark::State& state) {
  World& w = world();
  traffic::FastRandom random(3);
  std::vector<double> samples(w.mix.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < w.mix.size(); ++i) {
      const auto start = std::chrono::steady_clock::now();
      auto decision = w.engine.decide(w.mix[i].context, *w.snapshot, w.counters, w.clock, random);
      benchmark::DoNotOptimize(decision);
      samples[i] = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - start).count();
    }
  }
  std::sort(samples.begin(), samples.end());
  state.counters["p50_ns"] = samples[samples.size() / 2];
  state.counters["p90_ns"] = samples[samples.size() * 9 / 10];
  state.counters["p99_ns"] = samples[samples.size() * 99 / 100];
  state.counters["max_ns"] = samples.back();
}

void BM_UrlBuild(benchmark::State& state) {
  World& w = world();
  traffic::url::UrlSettings settings;
  settings.hash_secret = "urlsecret";
  const traffic::url::UrlBuilder builder(settings);
  traffic::FastRandom random(3);
  const auto& click = w.default_rule.front();
  const auto decision = w.engine.decide(click.context, *w.snapshot, w.counters, w.clock, random, {.dry_run = true});
  const std::string page = "https://lp.example.com/path?x=1&sub={subid}&c={cid}&l={lid}&a={affiliateId}";
  std::string out;
  for (auto _ : state) {
    const traffic::url::ClickValues values(decision, click.context, "S1", "C1", "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10");
    builder.build(page, values.placeholders(), values.tracking(), out);
    benchmark::DoNotOptimize(out.data());
  }
}

}  // namespace

BENCHMARK(BM_DecideMix);
BENCHMARK(BM_DecideDefaultRule);
BENCHMARK(BM_DecideMixPercentiles)->Iterations(20);
BENCHMARK(BM_UrlBuild);
