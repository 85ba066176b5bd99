#include "traffic/http/message.hpp"

#include <gtest/gtest.h>

namespace traffic::http {
namespace {

struct QueryCase {
  std::string_view query;
  std::string_view key;
  bool found;
  std::string_view value;
};

// query_param on well-formed and hostile queries: decoding, '+', malformed escapes kept
// literally, escapes at the very end, the first occurrence winning, keys compared as sent.
TEST(QueryParam, DecodesTheFirstOccurrenceAndKeepsMalformedEscapes) {
  const QueryCase cases[] = {
      {"o=abc&subid=s1", "o", true, "abc"},
      {"o=abc&subid=s1", "subid", true, "s1"},
      {"o=abc&subid=s1", "cid", false, ""},
      {"", "o", false, ""},
      {"o", "o", true, ""},
      {"o=", "o", true, ""},
      {"a=1&&o=2", "o", true, "2"},
      {"o=1&o=2", "o", true, "1"},
      {"oo=1&o=2", "o", true, "2"},
      {"O=1", "o", false, ""},
      {"o=a+b", "o", true, "a b"},
      {"o=%41%42c", "o", true, "ABc"},
      {"o=%4a%4A", "o", true, "JJ"},
      {"o=%", "o", true, "%"},
      {"o=%4", "o", true, "%4"},
      {"o=%41", "o", true, "A"},
      {"o=x%41", "o", true, "xA"},
      {"o=%zz%41", "o", true, "%zzA"},
      {"o=%%41", "o", true, "%A"},
      {"o=%2B+%20", "o", true, "+  "},
      {"o=%00z", "o", true, std::string_view("\0z", 2)},
      {"o=a=b", "o", true, "a=b"},
      {"o=++", "o", true, "  "},
  };
  for (const auto& c : cases) {
    std::string out = "stale";
    EXPECT_EQ(query_param(c.query, c.key, out), c.found) << c.query << " " << c.key;
    if (c.found) {
      EXPECT_EQ(out, c.value) << c.query << " " << c.key;
    }
  }
}

}  // namespace
}  // namespace traffic::http
