#include "traffic/pipeline/sinks/lid_store_sink.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

namespace traffic::pipeline {
namespace {

using std::chrono::seconds;

TEST(LidStoreSink, StoresClicksOnly) {
  lid::InMemoryLidStore store(10, SIZE_MAX, seconds(60));
  LidStoreSink sink(store, [] { return TimestampMs{1000}; });
  const std::vector<std::string_view> records{R"({"lid":"a","event":"traffic-api","n":1})"
                                              "\n",
                                              R"({"lid":"b","event":"traffic-bonus"})"
                                              "\n",
                                              R"({"event":"traffic-api"})"
                                              "\n"};
  EXPECT_TRUE(sink.deliver(records));
  EXPECT_EQ(store.get("a", 1000).value(), R"({"lid":"a","event":"traffic-api","n":1})");
  EXPECT_EQ(store.get("b", 1000).value(), std::nullopt);
  EXPECT_EQ(store.size(), 1U);
}

}  // namespace
}  // namespace traffic::pipeline
