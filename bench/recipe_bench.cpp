// Recipe load of a generated recipe (default 50,000 offers / 1,000,000 campaigns; set
// TRAFFIC_BENCH_OFFERS / TRAFFIC_BENCH_CAMPAIGNS to change): seconds, MB/s of uncompressed
// JSON, and the resident memory the snapshot holds once the file buffers are gone.
// Targets: ≥ 100 MB/s; snapshot RSS ≤ uncompressed JSON size. Also lookup cost.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "traffic/common/file.hpp"
#include "traffic/recipe/store.hpp"
#include "traffic/recipe/synthetic.hpp"

namespace {

std::size_t env_size(const char* name, std::size_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  std::size_t resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

struct GeneratedRecipe {
  traffic::recipe::SyntheticOptions options;
  traffic::recipe::SyntheticFiles files;
  std::filesystem::path dir;
  GeneratedRecipe() {
    options.offers = env_size("TRAFFIC_BENCH_OFFERS", 50'000);
    options.campaigns = env_size("TRAFFIC_BENCH_CAMPAIGNS", 1'000'000);
    options.gzip_level = 1;
    dir = std::filesystem::temp_directory_path() / ("traffic-bench-" + std::to_string(getpid()));
    files = traffic::recipe::write_synthetic_recipe(options, dir);
  }
  ~GeneratedRecipe() { std::filesystem::remove_all(dir); }
};

const GeneratedRecipe& recipe() {
  static const GeneratedRecipe generated;
  return generated;
}

void BM_RecipeLoad(benchmark::State& state) {
  const auto& r = recipe();
  double snapshot_bytes = 0;
  for (auto _ : state) {
    std::shared_ptr<const traffic::recipe::Snapshot> snapshot;
    const std::size_t before = resident_bytes();
    {
      const std::string offers_gz = traffic::read_file(r.files.offers);
      const std::string campaigns_gz = traffic::read_file(r.files.campaigns);
      traffic::recipe::LoadReport offers_report;
      traffic::recipe::LoadReport campaigns_report;
      auto offers = traffic::recipe::load_offers(offers_gz, offers_report);
      auto campaigns = traffic::recipe::load_campaigns(campaigns_gz, campaigns_report);
      if (!offers || !campaigns) {
        state.SkipWithError("generated recipe did not load");
        return;
      }
      snapshot = traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns));
    }
    snapshot_bytes = static_cast<double>(resident_bytes() - before);
    benchmark::DoNotOptimize(snapshot);
    state.PauseTiming();
    snapshot.reset();
    state.ResumeTiming();
  }
  const double json_bytes = static_cast<double>(r.files.offers_json_bytes + r.files.campaigns_json_bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(json_bytes) * state.iterations());
  state.counters["json_MB"] = json_bytes / 1e6;
  state.counters["snapshot_RSS_MB"] = snapshot_bytes / 1e6;
  state.counters["RSS_per_JSON"] = snapshot_bytes / json_bytes;
}
BENCHMARK(BM_RecipeLoad)->Unit(benchmark::kMillisecond)->Iterations(3)->UseRealTime();

void BM_CampaignAndOfferLookup(benchmark::State& state) {
  const auto& r = recipe();
  traffic::recipe::LoadReport report;
  auto offers = traffic::recipe::load_offers(traffic::read_file(r.files.offers), report);
  auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(r.files.campaigns), report);
  traffic::recipe::Store store;
  (void)store.replace(std::move(*offers), std::move(*campaigns));
  traffic::recipe::SnapshotCache cache(store);
  std::mt19937_64 rng(1);
  std::vector<std::int64_t> ids(4096);
  for (auto& id : ids) id = 1'000'000 + static_cast<std::int64_t>(rng() % r.options.campaigns);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& snapshot = cache.get();
    const auto* campaign = snapshot.campaign(ids[i++ & 4095]);
    benchmark::DoNotOptimize(snapshot.offer(campaign->offer_id));
  }
}
BENCHMARK(BM_CampaignAndOfferLookup);

}  // namespace
