// Cost per click of building the click record and appending it to the spool
// (docs/benchmarks.md, "Click pipeline"). The spool lives in a fresh temporary directory.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "traffic/common/crc32c.hpp"
#include "traffic/lid/click_record.hpp"
#include "traffic/lid/lid.hpp"
#include "traffic/pipeline/sinks/file_sink.hpp"
#include "traffic/pipeline/spool.hpp"

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

// A spool (one sink, default settings) in a fresh temporary directory, removed afterwards.
struct TempSpool {
  fs::path dir;
  std::optional<pipeline::Spool> spool;
  explicit TempSpool(const std::string& name)
      : dir(fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    pipeline::SpoolSettings settings;
    settings.directory = dir;
    settings.sinks = {"file"};
    spool.emplace(settings);
  }
  ~TempSpool() {
    spool.reset();
    fs::remove_all(dir);
  }
  TempSpool(const TempSpool&) = delete;
  TempSpool& operator=(const TempSpool&) = delete;
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

// The file sink's work per record: taking deliveries of 4,096 records (compressed as they
// come) and closing a file every 64 MiB of records (written, fsync'ed, renamed).
void BM_FileSink(benchmark::State& state) {
  const auto compression = static_cast<pipeline::Compression>(state.range(0));
  const fs::path dir = fs::temp_directory_path() / ("file-sink-bench-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    pipeline::FileSinkSettings settings;
    settings.directory = dir;
    settings.compression = compression;
    settings.rotate_bytes = 64ull << 20;
    pipeline::FileSink sink(settings);
    // Like the load benchmark's clicks: the same click, each with its own lid (in the
    // record and in its landing page URL) and time.
    SampleClick click;
    FastRandom random;
    std::string arena;
    std::vector<std::size_t> ends;
    std::string landing_page;
    for (int i = 0; i < 4096; ++i) {
      const lid::Lid lid = lid::new_lid(random);
      click.facts.lid = lid.view();
      landing_page =
          "https://lp.example.com/path?x=1&offer_id=100&campaign_id=10&lid=" + std::string(lid.view()) + "&ap=2";
      click.facts.landing_page = landing_page;
      click.facts.date_added += static_cast<std::int64_t>(random.next() % 10);
      lid::append_click_record(arena, click.decision, click.context, click.device, click.facts);
      ends.push_back(arena.size());
    }
    std::vector<std::string_view> records;
    for (std::size_t i = 0, begin = 0; i < ends.size(); begin = ends[i++]) {
      records.emplace_back(arena.data() + begin, ends[i] - begin);
    }
    for (auto _ : state) {
      if (!sink.deliver(records)) state.SkipWithError("delivery refused");
    }
    sink.close();
    state.SetItemsProcessed(state.iterations() * 4096);
    std::uintmax_t written = 0;
    for (const auto& file : fs::directory_iterator(dir)) written += file.file_size();
    state.counters["ratio"] =
        static_cast<double>(arena.size()) * static_cast<double>(state.iterations()) / static_cast<double>(written);
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_FileSink)
    ->Arg(static_cast<int>(pipeline::Compression::gzip))
    ->Arg(static_cast<int>(pipeline::Compression::zstd))
    ->Arg(static_cast<int>(pipeline::Compression::none))
    ->Iterations(200)
    ->Unit(benchmark::kMicrosecond);

// A sink's read of the spool per record (from the page cache): read, frame and checksum
// check, the records copied out as the emitter does.
void BM_SpoolRead(benchmark::State& state) {
  TempSpool temp("spool-read-bench");
  pipeline::Spool& spool = *temp.spool;
  auto& writer = spool.writer(0);
  const SampleClick click;
  constexpr std::size_t kRecords = 40'000;  // ~63 MB: one segment
  for (std::size_t i = 0; i < kRecords; ++i) {
    lid::append_click_record(writer.buffer(), click.decision, click.context, click.device, click.facts);
    if (!writer.stage()) state.SkipWithError("append refused");
    if (writer.staged() == 64 && !writer.flush()) state.SkipWithError("write refused");
  }
  if (!writer.flush()) state.SkipWithError("write refused");
  std::string arena;
  for (auto _ : state) {
    pipeline::SpoolPosition at{};
    std::size_t read = 0;
    while (read < kRecords) {
      arena.clear();
      std::size_t batch = 0;
      at = spool.read(0, at, 4096, [&](std::string_view record) {
        arena.append(record);
        ++batch;
      });
      if (batch == 0) break;
      read += batch;
    }
    benchmark::DoNotOptimize(arena.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kRecords));
}
BENCHMARK(BM_SpoolRead)->Unit(benchmark::kMillisecond);

// Record + one write(2), with the fsync thread running at its default interval.
void BM_SpoolAppend(benchmark::State& state) {
  TempSpool temp("spool-bench");
  auto& writer = temp.spool->writer(0);
  const SampleClick click;
  for (auto _ : state) {
    lid::append_click_record(writer.buffer(), click.decision, click.context, click.device, click.facts);
    if (!writer.append()) state.SkipWithError("append refused");
  }
}
BENCHMARK(BM_SpoolAppend)->Iterations(200000);

}  // namespace
