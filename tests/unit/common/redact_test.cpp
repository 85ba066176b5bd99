#include "traffic/common/redact.hpp"

#include <gtest/gtest.h>

namespace traffic {
namespace {

TEST(Redact, TheUserInfoOfEveryUrlIsHidden) {
  EXPECT_EQ(redact_credentials("redis://:pw@h:6379/k,https://u:p@c.example/x#name=a,file:///d"),
            "redis://***@h:6379/k,https://***@c.example/x#name=a,file:///d");
  EXPECT_EQ(redact_credentials("https://user:p%40ss@s3.example/bucket?x=1"), "https://***@s3.example/bucket?x=1");
  EXPECT_EQ(redact_credentials("no url here"), "no url here");
  EXPECT_EQ(redact_credentials(""), "");
}

}  // namespace
}  // namespace traffic
