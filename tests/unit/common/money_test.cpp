#include "traffic/common/money.hpp"

#include <gtest/gtest.h>

namespace traffic {
namespace {

TEST(Money, ParsesProducerDecimalsExactly) {
  EXPECT_EQ(Money::parse("4.00000000")->micros(), 4'000'000);
  EXPECT_EQ(Money::parse("2.5")->micros(), 2'500'000);
  EXPECT_EQ(Money::parse("0.000001")->micros(), 1);
  EXPECT_EQ(Money::parse("3")->micros(), 3'000'000);
  EXPECT_EQ(Money::parse("-1.25")->micros(), -1'250'000);
  EXPECT_EQ(Money::parse(".5")->micros(), 500'000);
  EXPECT_EQ(Money::parse("7.")->micros(), 7'000'000);
  EXPECT_EQ(Money::parse("0.1")->micros() + Money::parse("0.2")->micros(), Money::parse("0.3")->micros());
}

TEST(Money, RoundsBeyondSixDecimalsHalfAwayFromZero) {
  EXPECT_EQ(Money::parse("0.0000005")->micros(), 1);
  EXPECT_EQ(Money::parse("0.0000004999")->micros(), 0);
  EXPECT_EQ(Money::parse("1.23456789")->micros(), 1'234'568);
  EXPECT_EQ(Money::parse("-0.0000005")->micros(), -1);
}

TEST(Money, RejectsAnythingButAPlainDecimal) {
  for (const char* bad : {"", "-", ".", "+1", " 1", "1 ", "1e3", "0x10", "1,5", "1.2.3", "abc", "--1", "1-", "NaN",
                          "inf", "99999999999999999999"}) {
    EXPECT_FALSE(Money::parse(bad).has_value()) << bad;
  }
}

TEST(Money, FromDoubleRoundsToMicros) {
  EXPECT_EQ(Money::from_double(2.5)->micros(), 2'500'000);
  EXPECT_EQ(Money::from_double(0.1 + 0.2)->micros(), 300'000);
  EXPECT_EQ(Money::from_double(8.25)->micros(), 8'250'000);
  EXPECT_FALSE(Money::from_double(1e300).has_value());
  EXPECT_FALSE(Money::from_double(std::numeric_limits<double>::quiet_NaN()).has_value());
}

TEST(Money, FormatsShortestExactDecimal) {
  EXPECT_EQ(Money::parse("9.50000000")->to_string(), "9.5");
  EXPECT_EQ(Money::parse("8.25")->to_string(), "8.25");
  EXPECT_EQ(Money().to_string(), "0");
  EXPECT_EQ(Money::parse("-1.000001")->to_string(), "-1.000001");
  EXPECT_EQ(Money::from_micros(INT64_MIN).to_string(), "-9223372036854.775808");
  EXPECT_EQ(Money::from_micros(INT64_MAX).to_string(), "9223372036854.775807");
}

}  // namespace
}  // namespace traffic
