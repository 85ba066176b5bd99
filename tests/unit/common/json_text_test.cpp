// JSON string literals from arbitrary bytes (common/json_text.hpp).

#include "traffic/common/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>

namespace traffic {
namespace {

namespace json = boost::json;

TEST(JsonString, InvalidUtf8BecomesReplacementCharacters) {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", "\"plain\""},
      {"a\"b\\c", R"("a\"b\\c")"},
      {std::string("nul\0x", 5), R"("nul\u0000x")"},
      {"\x7f", R"("\u007f")"},
      {"\xC0\x80", R"("\ufffd\ufffd")"},                      // overlong NUL
      {"\xED\xA0\x80", R"("\ufffd\ufffd\ufffd")"},            // a surrogate
      {"\xF4\x90\x80\x80", R"("\ufffd\ufffd\ufffd\ufffd")"},  // above U+10FFFF
      {"\xE2\x82", R"("\ufffd\ufffd")"},                      // truncated
      {"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},           // an emoji passes
  };
  for (const auto& [input, expected] : cases) {
    std::string out;
    append_json_string(out, input);
    EXPECT_EQ(out, expected);
    EXPECT_NO_THROW((void)json::parse(out)) << out;
  }
}

// Plain runs are scanned 16 bytes at a time: every special byte, at every position around
// and across a 16-byte boundary, is escaped as the byte-by-byte rules say.
TEST(JsonString, EscapesAtEveryPositionOfALongRun) {
  const std::pair<std::string, std::string> specials[] = {
      {"\"", R"(\")"},          {"\\", R"(\\)"},       {"\n", R"(\u000a)"},   {std::string(1, '\0'), R"(\u0000)"},
      {"\x1f", R"(\u001f)"},    {"\x7f", R"(\u007f)"}, {"\x80", R"(\ufffd)"}, {"\xff", R"(\ufffd)"},
      {"\xC3\xA9", "\xC3\xA9"},  // é passes
  };
  for (std::size_t before = 0; before < 40; ++before) {
    for (const auto& [special, escaped] : specials) {
      for (const std::size_t after :
           {std::size_t{0}, std::size_t{1}, std::size_t{15}, std::size_t{16}, std::size_t{33}}) {
        const std::string input = std::string(before, 'a') + special + std::string(after, 'b');
        std::string out;
        append_json_string(out, input);
        EXPECT_EQ(out, "\"" + std::string(before, 'a') + escaped + std::string(after, 'b') + "\"")
            << before << " " << after;
      }
    }
  }
}

}  // namespace
}  // namespace traffic
