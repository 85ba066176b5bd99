#include "traffic/net/client_ip.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace traffic::net {
namespace {

IpAddress ip(std::string_view text) {
  auto a = IpAddress::parse(text);
  if (!a) throw std::invalid_argument(std::string(text));
  return *a;
}

TEST(IpAddress, ParsesAndNormalises) {
  EXPECT_EQ(ip("216.160.83.56").to_string(), "216.160.83.56");
  EXPECT_TRUE(ip("216.160.83.56").is_v4());
  EXPECT_EQ(ip("::ffff:216.160.83.56"), ip("216.160.83.56"));  // IPv4-mapped → IPv4
  EXPECT_TRUE(ip("::ffff:216.160.83.56").is_v4());
  EXPECT_EQ(ip("2001:DB8::1").to_string(), "2001:db8::1");
  EXPECT_FALSE(ip("2001:db8::1").is_v4());
  for (const char* bad :
       {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4x", "::g", "[::1]", "1.2.3.4:80",
        "fe80::1%eth0", "localhost", "1.2.3.4/8", "0000:0000:0000:0000:0000:0000:0000:0000:0000"}) {
    EXPECT_FALSE(IpAddress::parse(bad).has_value()) << bad;
  }
}

// IPv4 text is written by hand; inet_ntop is the reference, for every value of every octet.
TEST(IpAddress, Ipv4TextMatchesInetNtop) {
  for (unsigned octet = 0; octet < 256; ++octet) {
    for (std::size_t position = 0; position < 4; ++position) {
      std::array<std::uint8_t, 4> bytes{9, 87, 255, 0};
      bytes[position] = static_cast<std::uint8_t>(octet);
      char expected[INET_ADDRSTRLEN];
      ASSERT_NE(inet_ntop(AF_INET, bytes.data(), expected, sizeof expected), nullptr);
      char text[IpAddress::kMaxTextSize];
      const std::size_t size = IpAddress::v4(bytes).format(text);
      EXPECT_EQ(std::string_view(text, size), std::string_view(expected)) << octet << " at " << position;
      EXPECT_EQ(text[size], '\0');
    }
  }
  EXPECT_EQ(IpAddress::v4({0, 0, 0, 0}).to_string(), "0.0.0.0");
  EXPECT_EQ(IpAddress::v4({255, 255, 255, 255}).to_string(), "255.255.255.255");
}

TEST(IpAddress, SockaddrRoundTrip) {
  for (const char* text : {"81.2.69.142", "2001:db8::5", "::1"}) {
    sockaddr_storage storage{};
    ip(text).to_sockaddr(storage);
    EXPECT_EQ(IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&storage)), ip(text)) << text;
  }
}

TEST(IpNetwork, Contains) {
  auto net = *IpNetwork::parse("10.0.0.0/8");
  EXPECT_TRUE(net.contains(ip("10.255.1.2")));
  EXPECT_FALSE(net.contains(ip("11.0.0.1")));
  EXPECT_FALSE(net.contains(ip("::ffff:11.0.0.1")));
  EXPECT_TRUE(net.contains(ip("::ffff:10.0.0.1")));
  auto odd = *IpNetwork::parse("172.16.0.0/12");
  EXPECT_TRUE(odd.contains(ip("172.31.255.255")));
  EXPECT_FALSE(odd.contains(ip("172.32.0.0")));
  auto v6 = *IpNetwork::parse("2001:db8::/32");
  EXPECT_TRUE(v6.contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(v6.contains(ip("2001:db9::1")));
  EXPECT_FALSE(v6.contains(ip("10.0.0.1")));
  EXPECT_TRUE(IpNetwork::parse("1.2.3.4")->contains(ip("1.2.3.4")));
  EXPECT_TRUE(IpNetwork::parse("0.0.0.0/0")->contains(ip("8.8.8.8")));
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/x", "::/129", "/8", "10.0.0.0/8/8"}) {
    EXPECT_FALSE(IpNetwork::parse(bad).has_value()) << bad;
  }
}

struct Case {
  const char* name;
  const char* trust;
  const char* peer;
  const char* xff;
  const char* expected;
};

TEST(ClientIp, Table) {
  const Case cases[] = {
      // No TRUST_PROXY: the header is ignored whoever sends it.
      {"default ignores XFF", "", "203.0.113.9", "1.1.1.1", "203.0.113.9"},
      {"false ignores XFF", "false", "127.0.0.1", "1.1.1.1", "127.0.0.1"},
      // Trusted networks.
      {"trusted peer, one client", "127.0.0.1", "127.0.0.1", "216.160.83.56", "216.160.83.56"},
      {"untrusted peer cannot choose", "127.0.0.1", "203.0.113.9", "216.160.83.56", "203.0.113.9"},
      {"spoofed left entries ignored", "loopback,10.0.0.0/8", "127.0.0.1", "6.6.6.6, 216.160.83.56, 10.1.1.1",
       "216.160.83.56"},
      {"all trusted → left-most", "loopback,10.0.0.0/8", "127.0.0.1", "10.0.0.2, 10.0.0.3", "10.0.0.2"},
      {"empty header → peer", "127.0.0.1", "127.0.0.1", "", "127.0.0.1"},
      {"garbage entry stops the walk", "loopback,private", "127.0.0.1", "216.160.83.56, garbage, 10.0.0.7", "10.0.0.7"},
      {"garbage right after peer", "127.0.0.1", "127.0.0.1", "216.160.83.56, <script>", "127.0.0.1"},
      {"ports and brackets", "loopback", "::1", "[2001:db8::1]:443", "2001:db8::1"},
      {"v4 with port", "loopback", "127.0.0.1", "81.2.69.142:5555", "81.2.69.142"},
      {"mapped peer is trusted as v4", "127.0.0.1", "::ffff:127.0.0.1", "81.2.69.142", "81.2.69.142"},
      {"mapped entry normalised", "127.0.0.1", "127.0.0.1", "::ffff:81.2.69.142", "81.2.69.142"},
      {"empty elements skipped", "127.0.0.1", "127.0.0.1", "81.2.69.142,, ", "81.2.69.142"},
      {"ipv6 client", "loopback", "127.0.0.1", "2001:db8::42", "2001:db8::42"},
      // Hop counts.
      {"one hop", "1", "10.0.0.1", "6.6.6.6, 216.160.83.56", "216.160.83.56"},
      {"two hops", "2", "10.0.0.1", "6.6.6.6, 216.160.83.56, 10.0.0.9", "216.160.83.56"},
      {"more hops than entries", "3", "10.0.0.1", "216.160.83.56", "216.160.83.56"},
      {"hop into garbage", "2", "10.0.0.1", "216.160.83.56, junk", "10.0.0.1"},
      // Compatibility: the old rule, spoofable by design.
      {"leftmost", "leftmost", "203.0.113.9", "junk, 6.6.6.6, 216.160.83.56", "6.6.6.6"},
      {"leftmost without header", "leftmost", "203.0.113.9", "", "203.0.113.9"},
  };
  for (const auto& c : cases) {
    const auto policy = TrustProxy::parse(c.trust);
    EXPECT_EQ(client_ip(ip(c.peer), c.xff, policy).to_string(), c.expected) << c.name;
  }
}

TEST(ClientIp, HostileHeadersNeverCrash) {
  const auto policy = TrustProxy::parse("loopback,private");
  std::string long_header;
  for (int i = 0; i < 10000; ++i) long_header += "10.0.0.1,";
  const std::string cases[] = {long_header,
                               std::string(100000, ','),
                               std::string(5000, '['),
                               "[::1",
                               std::string("\0\0\0", 3),
                               "1.2.3.4\r\nX-Evil: 1",
                               std::string(70000, 'a')};
  for (const auto& header : cases) {
    const IpAddress result = client_ip(ip("127.0.0.1"), header, policy);
    EXPECT_FALSE(result.to_string().empty());
  }
}

TEST(TrustProxy, ParseErrorsNameTheVariable) {
  EXPECT_EQ(TrustProxy::parse("").mode(), TrustProxy::Mode::none);
  EXPECT_EQ(TrustProxy::parse("0").mode(), TrustProxy::Mode::none);
  EXPECT_EQ(TrustProxy::parse("2").mode(), TrustProxy::Mode::hops);
  EXPECT_EQ(TrustProxy::parse("leftmost").mode(), TrustProxy::Mode::leftmost);
  EXPECT_EQ(TrustProxy::parse(" 10.0.0.0/8 , loopback ").mode(), TrustProxy::Mode::networks);
  for (const char* bad : {"10.0.0.0/40", "everyone", "100", "1.2.3.4,,foo", "-1"}) {
    try {
      (void)TrustProxy::parse(bad);
      ADD_FAILURE() << bad;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("TRUST_PROXY"), std::string::npos) << bad;
    }
  }
}

}  // namespace
}  // namespace traffic::net
