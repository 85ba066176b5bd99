#include "traffic/lid/unique_visits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace traffic::lid {
namespace {

device::DeviceInfo chrome_on_windows() {
  device::DeviceInfo d;
  d.browser_family = "Chrome";
  d.browser_major = "120";
  d.os_family = "Windows";
  d.device_family = "Other";
  return d;
}

std::string text(const Fingerprint& f) {
  return {f.data(), f.size()};
}

TEST(Fingerprint, SixteenHexDigitsThatChangeWithEveryPart) {
  const auto device = chrome_on_windows();
  const std::string base = text(fingerprint(device, "text/html", "en-US", "US"));
  EXPECT_EQ(base.size(), 16U);
  EXPECT_EQ(base.find_first_not_of("0123456789abcdef"), std::string::npos) << base;
  EXPECT_EQ(text(fingerprint(device, "text/html", "en-US", "US")), base);  // deterministic
  auto other = device;
  other.browser_major = "121";
  EXPECT_NE(text(fingerprint(other, "text/html", "en-US", "US")), base);
  other = device;
  other.os_family = "Linux";
  EXPECT_NE(text(fingerprint(other, "text/html", "en-US", "US")), base);
  EXPECT_NE(text(fingerprint(device, "text/html", "de-DE", "US")), base);
  EXPECT_NE(text(fingerprint(device, "*/*", "en-US", "US")), base);
  EXPECT_NE(text(fingerprint(device, "text/html", "en-US", "GB")), base);
  // Parts are delimited: moving a character from one part to the next changes it.
  EXPECT_NE(text(fingerprint(device, "ab", "c", "US")), text(fingerprint(device, "a", "bc", "US")));
}

TEST(UniqueVisits, FirstVisitPerCampaignPerWindow) {
  InMemoryUniqueVisits visits(1000, std::chrono::hours(24));
  const TimestampMs t0 = 1'700'000'000'000;
  EXPECT_TRUE(visits.first_visit("0123456789abcdef", 10, t0));
  EXPECT_FALSE(visits.first_visit("0123456789abcdef", 10, t0 + 1000));
  EXPECT_TRUE(visits.first_visit("0123456789abcdef", 11, t0 + 1000));  // another campaign
  EXPECT_TRUE(visits.first_visit("fedcba9876543210", 10, t0 + 1000));  // another visitor
  EXPECT_FALSE(visits.first_visit("0123456789abcdef", 10, t0 + 86'399'999));
  EXPECT_TRUE(visits.first_visit("0123456789abcdef", 10, t0 + 86'400'000 + 1000));  // a day after the first
  EXPECT_EQ(visits.forced_resets(), 0U);
}

TEST(UniqueVisits, TheMemoryBoundWinsAndIsCounted) {
  InMemoryUniqueVisits visits(64);  // one key per shard
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(visits.first_visit("visitor-" + std::to_string(i), 1, 1000));
  EXPECT_GT(visits.forced_resets(), 0U);
}

TEST(UniqueVisits, ConcurrentVisitsSeeExactlyOneFirst) {
  InMemoryUniqueVisits visits(100'000);
  for (int round = 0; round < 50; ++round) {
    std::atomic<int> firsts{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        if (visits.first_visit("same-visitor", round, 1000)) firsts.fetch_add(1);
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(firsts.load(), 1) << round;
  }
}

}  // namespace
}  // namespace traffic::lid
