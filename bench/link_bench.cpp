// Link codec cost per call (target: decode ≤ 1 µs).
#include <benchmark/benchmark.h>

#include "traffic/link/link.hpp"

namespace {

const traffic::link::LinkKeys& keys() {
  static const auto k = traffic::link::LinkKeys::from_config("0123456789abcdef0123456789abcdef");
  return k;
}

void BM_DecodeV1(benchmark::State& state) {
  const std::string o = traffic::link::encode_v1({36303, 1000976}, keys());
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::decode(o, keys()));
}
BENCHMARK(BM_DecodeV1);

void BM_ParseLegacyJsonPlaintext(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::parse_plaintext(R"({"offerId":100,"campaignId":10})"));
}
BENCHMARK(BM_ParseLegacyJsonPlaintext);

void BM_DecodeV1Invalid(benchmark::State& state) {
  std::string o = traffic::link::encode_v1({36303, 1000976}, keys());
  o[40] = o[40] == 'a' ? 'b' : 'a';  // corrupt the ciphertext: padding or plaintext fails
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::decode(o, keys()));
}
BENCHMARK(BM_DecodeV1Invalid);

void BM_DecodeV2(benchmark::State& state) {
  const std::string o = traffic::link::encode_v2({36303, 1000976}, keys());
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::decode(o, keys()));
}
BENCHMARK(BM_DecodeV2);

void BM_EncodeV1(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::encode_v1({36303, 1000976}, keys()));
}
BENCHMARK(BM_EncodeV1);

void BM_EncodeV2(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(traffic::link::encode_v2({36303, 1000976}, keys()));
}
BENCHMARK(BM_EncodeV2);

}  // namespace
