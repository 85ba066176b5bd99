#include "traffic/lid/lid.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "traffic/testing/fake_random.hpp"

namespace traffic::lid {
namespace {

TEST(Lid, IsAVersion4UuidInCanonicalForm) {
  FastRandom random(1);
  for (int i = 0; i < 1000; ++i) {
    const Lid lid = new_lid(random);
    const std::string_view text = lid.view();
    ASSERT_EQ(text.size(), 36U);
    EXPECT_TRUE(is_lid(text)) << text;
    EXPECT_EQ(text[14], '4');
    EXPECT_NE(std::string_view("89ab").find(text[19]), std::string_view::npos) << text;
  }
}

TEST(Lid, BitsComeFromTheRandomSourceInOrder) {
  test::FakeRandom random({0x0123456789abcdefULL, 0xfedcba9876543210ULL});
  EXPECT_EQ(new_lid(random).view(), "01234567-89ab-4def-bedc-ba9876543210");
  test::FakeRandom zeros({0});
  EXPECT_EQ(new_lid(zeros).view(), "00000000-0000-4000-8000-000000000000");
}

TEST(Lid, DistinctAcrossManyDraws) {
  FastRandom random;
  std::set<std::string> seen;
  for (int i = 0; i < 100000; ++i) seen.insert(std::string(new_lid(random).view()));
  EXPECT_EQ(seen.size(), 100000U);
}

TEST(Lid, Validation) {
  EXPECT_TRUE(is_lid("4C9C54A6-1F1E-4B7E-9F51-0A3C2D7E8B10"));
  EXPECT_FALSE(is_lid(""));
  EXPECT_FALSE(is_lid("4c9c54a6-1f1e-3b7e-9f51-0a3c2d7e8b10"));  // version 3
  EXPECT_FALSE(is_lid("4c9c54a6-1f1e-4b7e-7f51-0a3c2d7e8b10"));  // variant
  EXPECT_FALSE(is_lid("4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b1"));   // short
  EXPECT_FALSE(is_lid("4c9c54a6x1f1e-4b7e-9f51-0a3c2d7e8b10"));  // dash
  EXPECT_FALSE(is_lid("4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b1g"));  // not hex
  EXPECT_FALSE(is_lid("4c9c54a6-1f1e-4b7e-9f51-0a3c2d7e8b10\n"));
}

}  // namespace
}  // namespace traffic::lid
