#include "traffic/common/time.hpp"

#include <gtest/gtest.h>

namespace traffic {
namespace {

TEST(Time, ParsesTheProducerForms) {
  EXPECT_EQ(parse_iso8601("1970-01-01T00:00:00.000Z"), 0);
  EXPECT_EQ(parse_iso8601("2020-01-01T00:00:00.000Z"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2020-01-01T00:00:00Z"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2020-01-01 00:00:00"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2020-01-01"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2020-01-01T02:00:00+02:00"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2019-12-31T22:00:00-02:00"), 1577836800000);
  EXPECT_EQ(parse_iso8601("2020-01-01T00:00:00.5Z"), 1577836800500);
  EXPECT_EQ(parse_iso8601("2020-02-29T23:59:59.999Z"), 1583020799999);
}

TEST(Time, RejectsImpossibleOrMalformedDates) {
  for (const char* bad :
       {"", "2020", "2020-13-01", "2020-02-30", "2019-02-29", "2020-01-01T24:00:00Z", "2020-01-01T00:60:00Z",
        "2020-01-01T00:00:00.Z", "2020-01-01T00:00:00ZZ", "2020-01-01X00:00:00", "1969-12-31", "2020-1-01",
        "2020-01-01T00:00:00+2:00", "null", "2020-01-01T00:00:00.0000000000Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

TEST(Time, FormatRoundTrips) {
  for (TimestampMs at :
       {TimestampMs{0}, TimestampMs{1577836800000}, TimestampMs{1583020799999}, TimestampMs{4102358400000}}) {
    EXPECT_EQ(parse_iso8601(format_iso8601(at)), at);
  }
  EXPECT_EQ(format_iso8601(1577836800500), "2020-01-01T00:00:00.500Z");
}

}  // namespace
}  // namespace traffic
