// Cost per click of building the click record and appending it to the spool
// (docs/benchmarks.md, "Click pipeline"). The spool lives in a fresh temporary directory.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "traffic/common/crc32c.hpp"
#include "traffic/lid/click_record.hpp"
#include "traffic/lid/spool.hpp"

namespace {

namespace fs = std::filesystem;
using namespace traffic;

// A click of typical size (~1.5 KB as a JSON line).
struct SampleClick {
  recipe::Offer offer;
  recipe::Campaign campaign;
  rules::Decision decision;
  rules::Context context;
  device::DeviceInfo device;
  lid::ClickFacts facts;
  SampleClick() {
    offer.id = 100;
    offer.name = "Offer 100";
    offer.description = "Offer 100 description";
    offer.landing_page_url = "https://lp.example.com/path?x=1";
    offer.vertical_name = "Sweepstakes";
    campaign.id = 10;
    campaign.affiliate_id = 7;
    decision.outcome = rules::Outcome::redirect;
    decision.offer = decision.origin_offer = &offer;
    decision.campaign = decision.origin_campaign = &campaign;
    decision.payin = *Money::parse("9.5");
    decision.payout = *Money::parse("8.25");
    decision.redirect_type = "defaultRedirection";
    decision.redirect_reason.assign("defaultRedirection-no-rules");
    context.country = *CountryCode::parse("US");
    context.city = "Milton";
    context.device = "desktop";
    context.os = "Linux";
    context.browser = "Chrome";
    facts.lid = "4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10";
    facts.landing_page =
        "https://lp.example.com/path?x=1&offer_id=100&campaign_id=10&lid=4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10&ap=2";
    facts.ad_path = "/pl?o=0102030405060708090a0b0c0d0e0f10:5e8a0b7c3d2f1e4a6b9c8d7e0f1a2b3c&subid=bench";
    facts.ip = "216.160.83.56";
    facts.user_agent =
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0 Safari/537.36";
    facts.date_added = 1700000000123;
  }
};

void BM_ClickRecord(benchmark::State& state) {
  const SampleClick click;
  std::string out;
  for (auto _ : state) {
    out.clear();
    lid::append_click_record(out, click.decision, click.context, click.device, click.facts);
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_ClickRecord);

// The checksum of each spool record (written by the request thread, checked by every sink).
void BM_RecordChecksum(benchmark::State& state) {
  const SampleClick click;
  std::string record;
  lid::append_click_record(record, click.decision, click.context, click.device, click.facts);
  for (auto _ : state) benchmark::DoNotOptimize(crc32c(record.data(), record.size()));
  state.counters["bytes"] = static_cast<double>(record.size());
}
BENCHMARK(BM_RecordChecksum);

// Record + one write(2), with the fsync thread running at its default interval.
void BM_SpoolAppend(benchmark::State& state) {
  const fs::path dir = fs::temp_directory_path() / ("spool-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    lid::SpoolSettings settings;
    settings.directory = dir;
    settings.sinks = {"file"};
    lid::Spool spool(settings);
    auto& writer = spool.writer(0);
    const SampleClick click;
    for (auto _ : state) {
      lid::append_click_record(writer.buffer(), click.decision, click.context, click.device, click.facts);
      if (!writer.append()) state.SkipWithError("append refused");
    }
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_SpoolAppend)->Iterations(200000);

}  // namespace
