// The one error policy's types (common/error.hpp).

#include "traffic/common/error.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace traffic {
namespace {

Result<int> half(int n) {
  if (n % 2 != 0) return fail(Errc::invalid_input, std::to_string(n) + " is odd");
  return n / 2;
}

TEST(Error, AResultIsAValueOrAFailureWithItsKindAndDetail) {
  const Result<int> four = half(8);
  ASSERT_TRUE(four);
  EXPECT_EQ(*four, 4);

  const Result<int> odd = half(7);
  ASSERT_FALSE(odd);
  EXPECT_TRUE(odd.error().is(Errc::invalid_input));
  EXPECT_FALSE(odd.error().is(Errc::unavailable));
  EXPECT_EQ(odd.error().detail, "7 is odd");
  EXPECT_EQ(odd.error().message(), "invalid input: 7 is odd");
  EXPECT_EQ(odd.error().code.category().name(), std::string("traffic"));
  std::ostringstream printed;
  printed << odd.error();
  EXPECT_EQ(printed.str(), "invalid input: 7 is odd");
}

TEST(Error, EveryKindHasAName) {
  for (const Errc kind : {Errc::unavailable, Errc::refused, Errc::io, Errc::invalid_input}) {
    EXPECT_NE(make_error_code(kind).message(), "unknown error");
  }
  EXPECT_EQ(Failure(Errc::io, "").message(), "i/o error");
}

TEST(Error, ValueOfAFailureThrowsItsMessage) {
  // Only a caller that did not test the result gets here: a programming error, loud.
  try {
    (void)half(3).value();
    FAIL() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_STREQ(e.what(), "invalid input: 3 is odd");
  }
}

TEST(Error, AnEmptyResultIsSuccess) {
  const Result<> done;
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace traffic
