#include "traffic/http/request_head.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "beast_reference.hpp"

namespace traffic::http {
namespace {

const HeadLimits kLimits{};

// Beast's answer for the same bytes must be identical whenever parse_simple_head accepts.
void expect_beast_agrees(std::string_view input, const RequestHead& head, const std::vector<Header>& headers) {
  EXPECT_EQ(test::beast_disagreement(input, head, headers, kLimits.max_head_bytes), "")
      << testing::PrintToString(std::string(input));
}

TEST(SimpleHead, ParsesTheUsualClick) {
  const std::string input =
      "GET /pl?o=abc&subid=s HTTP/1.1\r\nHost: t.example.com\r\nUser-Agent: Mozilla/5.0 (X11)  \r\n"
      "X-Forwarded-For:\t216.160.83.56\r\nAccept:\r\n\r\nGET /next HTTP/1.1\r\n";
  std::vector<Header> headers;
  RequestHead head;
  ASSERT_TRUE(parse_simple_head(input, kLimits, headers, head));
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.target, "/pl?o=abc&subid=s");
  EXPECT_EQ(head.version, 11U);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(input.substr(head.size), "GET /next HTTP/1.1\r\n");  // the next pipelined request stays
  ASSERT_EQ(headers.size(), 4U);
  EXPECT_EQ(headers[1].value, "Mozilla/5.0 (X11)");
  EXPECT_EQ(headers[2].value, "216.160.83.56");
  EXPECT_EQ(headers[3].value, "");
  expect_beast_agrees(input.substr(0, head.size), head, headers);
}

TEST(SimpleHead, KeepAliveFollowsTheVersionAndConnection) {
  struct Case {
    const char* head;
    bool keep_alive;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\n\r\n", true},
      {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
      {"GET / HTTP/1.1\r\nConnection: Keep-Alive\r\n\r\n", true},
      {"GET / HTTP/1.0\r\n\r\n", false},
      {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
      {"HEAD / HTTP/1.0\r\nconnection: CLOSE\r\n\r\n", false},
  };
  for (const auto& c : cases) {
    std::vector<Header> headers;
    RequestHead head;
    ASSERT_TRUE(parse_simple_head(c.head, kLimits, headers, head)) << c.head;
    EXPECT_EQ(head.keep_alive, c.keep_alive) << c.head;
    expect_beast_agrees(c.head, head, headers);
  }
}

TEST(SimpleHead, DeclinesWhatTheGeneralParserMustDecide) {
  const std::string long_target = "GET /" + std::string(kLimits.max_target, 'a') + " HTTP/1.1\r\n\r\n";
  std::string many_fields = "GET / HTTP/1.1\r\n";
  for (std::size_t i = 0; i <= kLimits.max_fields; ++i) many_fields += "X: y\r\n";
  many_fields += "\r\n";
  const std::string declined[] = {
      "",
      "GET / HTTP/1.1\r\nHost: x\r\n",  // incomplete
      "GET / HTTP/1.1\r\n\r",
      "POST /lid HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
      "POST /lid HTTP/1.1\r\ntransfer-encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
      "GET / HTTP/1.1\r\nProxy-Connection: close\r\n\r\n",
      "GET / HTTP/1.1\r\nConnection: close, upgrade\r\n\r\n",
      "GET / HTTP/1.1\r\nConnection: close\r\nConnection: keep-alive\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\nHost: x\n\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\n: x\r\n\r\n",
      "GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\x01\r\n\r\n",
      "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.2\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 \r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      " GET / HTTP/1.1\r\n\r\n",
      long_target,
      many_fields,
  };
  for (const auto& input : declined) {
    std::vector<Header> headers;
    RequestHead head;
    EXPECT_FALSE(parse_simple_head(input, kLimits, headers, head)) << testing::PrintToString(input);
  }
}

// Every byte value at every position of a long target and a long value, around the 16-byte
// blocks the scans read: accepted exactly when the byte is allowed there, and then read as
// Beast reads it.
TEST(SimpleHead, EachByteOfATargetOrValueIsChecked) {
  for (unsigned byte = 0; byte < 256; ++byte) {
    const char c = static_cast<char>(byte);
    for (std::size_t at = 0; at < 40; ++at) {
      std::string target = "/" + std::string(40, 't');
      target[1 + at] = c;
      std::string value(40, 'v');
      value[at] = c;
      const bool target_ok = byte > 0x20 && byte < 0x7F;
      // A space or tab at the end of a value is optional whitespace, trimmed.
      const bool value_ok = (byte >= 0x20 && byte < 0x7F) || byte == '\t';
      for (const bool in_target : {true, false}) {
        const std::string input = "GET " + (in_target ? target : "/") +
                                  " HTTP/1.1\r\nX: " + (in_target ? std::string(40, 'v') : value) + "\r\n\r\n";
        std::vector<Header> headers;
        RequestHead head;
        const bool accepted = parse_simple_head(input, kLimits, headers, head);
        ASSERT_EQ(accepted, in_target ? target_ok : value_ok) << "byte " << byte << " at " << at;
        if (accepted) expect_beast_agrees(input, head, headers);
      }
    }
  }
}

// Random requests built from likely and hostile pieces, then mutated: every one accepted
// must be parsed by Beast to the same method, target, version, fields, keep-alive and size.
TEST(SimpleHead, BeastAgreesWithEveryRequestAccepted) {
  std::mt19937_64 random(20261201);
  auto pick = [&](const std::vector<std::string>& options) -> const std::string& {
    return options[random() % options.size()];
  };
  const std::vector<std::string> methods = {"GET", "HEAD", "POST", "OPTIONS", "M-SEARCH", "get", "G\x01T", ""};
  const std::vector<std::string> targets = {"/",
                                            "/pl?o=a:b&subid=1",
                                            "*",
                                            "/%20x",
                                            "http://h/x?y#z",
                                            "/a b",
                                            "",
                                            "/pl?o=8d93b6016510e0c186770ab2f28035c8:8e820b61ade7cac767053a337aed7a1a"};
  const std::vector<std::string> versions = {"HTTP/1.1", "HTTP/1.0", "HTTP/1.1", "HTTP/2.0", "http/1.1", "HTTP/1.1 "};
  const std::vector<std::string> names = {
      "Host", "User-Agent", "X-Forwarded-For", "Connection", "Accept", "Cookie", "Content-Length", "X_Y", "A b", "x"};
  const std::vector<std::string> values = {"x",     "",     " spaced  ", "close",       "keep-alive", "Upgrade",
                                           "a\tb ", "\t\t", "1.2.3.4",   "caf\xc3\xa9", "a\x7f"};
  static constexpr char kInteresting[] =
      "\r\n \t:\x00\x7f\x80"
      "Aa/?";
  const std::string interesting(kInteresting, sizeof kInteresting - 1);
  std::size_t accepted = 0;
  constexpr int kRuns = 60000;
  for (int run = 0; run < kRuns; ++run) {
    std::string input = pick(methods) + " " + pick(targets) + " " + pick(versions) + "\r\n";
    const std::size_t fields = random() % 5;
    for (std::size_t i = 0; i < fields; ++i) {
      input += pick(names) + ":" + (random() % 2 ? " " : "") + pick(values) + "\r\n";
    }
    input += "\r\n";
    if (random() % 3 == 0) input[random() % input.size()] = interesting[random() % interesting.size()];
    if (random() % 8 == 0) input.resize(random() % (input.size() + 1));
    std::vector<Header> headers;
    RequestHead head;
    if (!parse_simple_head(input, kLimits, headers, head)) continue;
    ++accepted;
    expect_beast_agrees(std::string_view(input).substr(0, head.size), head, headers);
    if (testing::Test::HasFailure()) return;
  }
  EXPECT_GT(accepted, kRuns / 20U) << "too few accepted for the comparison to mean much";
}

}  // namespace
}  // namespace traffic::http
