#include "traffic/device/detector.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "../../support/test_support.hpp"

namespace traffic::device {
namespace {

const DeviceDetector& detector() {
  static const DeviceDetector instance;
  return instance;
}

std::string field(const YAML::Node& test_case, const char* name) {
  const YAML::Node value = test_case[name];
  return value && !value.IsNull() ? value.as<std::string>() : std::string();
}

struct Conformance {
  std::size_t cases = 0;
  std::size_t passed = 0;
  [[nodiscard]] double rate() const {
    return cases ? 100.0 * static_cast<double>(passed) / static_cast<double>(cases) : 0;
  }
};

enum class Kind { user_agent, os, device };

// Runs one of uap-core's test files: every case compares the fields it lists. Prints the
// pass rate (docs/device.md records them).
Conformance run_file(const std::string& path, Kind kind) {
  const YAML::Node root = YAML::LoadFile(path);
  Conformance result;
  for (const auto& test_case : root["test_cases"]) {
    const std::string ua = test_case["user_agent_string"].as<std::string>();
    const DeviceInfo info = detector().parse(ua);
    bool ok = false;
    switch (kind) {
      case Kind::user_agent:
        ok = info.browser_family == field(test_case, "family") && info.browser_major == field(test_case, "major") &&
             info.browser_minor == field(test_case, "minor") && info.browser_patch == field(test_case, "patch");
        break;
      case Kind::os:
        ok = info.os_family == field(test_case, "family") && info.os_major == field(test_case, "major") &&
             info.os_minor == field(test_case, "minor") && info.os_patch == field(test_case, "patch") &&
             info.os_patch_minor == field(test_case, "patch_minor");
        break;
      case Kind::device:
        ok = info.device_family == field(test_case, "family") && info.device_brand == field(test_case, "brand") &&
             info.device_model == field(test_case, "model");
        break;
    }
    ++result.cases;
    result.passed += ok ? 1 : 0;
  }
  std::printf("uap-core conformance %s: %zu/%zu (%.2f%%)\n", path.c_str(), result.passed, result.cases, result.rate());
  return result;
}

constexpr const char* kUap = "/usr/share/uap-core/";

TEST(DeviceConformance, UserAgents) {
  const auto main = run_file(std::string(kUap) + "tests/test_ua.yaml", Kind::user_agent);
  EXPECT_GE(main.cases, 1000u);
  EXPECT_GE(main.rate(), 99.0);
  for (const char* extra : {"firefox_user_agent_strings.yaml", "opera_mini_user_agent_strings.yaml",
                            "podcasting_user_agent_strings.yaml", "pgts_browser_list.yaml"}) {
    EXPECT_GE(run_file(std::string(kUap) + "test_resources/" + extra, Kind::user_agent).rate(), 99.0) << extra;
  }
}

TEST(DeviceConformance, OperatingSystems) {
  const auto main = run_file(std::string(kUap) + "tests/test_os.yaml", Kind::os);
  EXPECT_GE(main.cases, 400u);
  EXPECT_GE(main.rate(), 99.0);
  EXPECT_GE(run_file(std::string(kUap) + "test_resources/additional_os_tests.yaml", Kind::os).rate(), 99.0);
}

TEST(DeviceConformance, Devices) {
  const auto main = run_file(std::string(kUap) + "tests/test_device.yaml", Kind::device);
  EXPECT_GE(main.cases, 15000u);
  EXPECT_GE(main.rate(), 99.0);
}

struct TypeCase {
  const char* ua;
  DeviceType type;
  const char* os;
  const char* browser;
  const char* engine;
};

TEST(DeviceType, CommonAgents) {
  const TypeCase cases[] = {
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/94.0.4606.81 Safari/537.36",
       DeviceType::desktop, "Linux", "Chrome", "Blink"},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
       "Safari/537.36 Edg/120.0.0.0",
       DeviceType::desktop, "Windows", "Edge", "Blink"},
      {"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0", DeviceType::desktop,
       "Windows", "Firefox", "Gecko"},
      {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 "
       "Safari/605.1.15",
       DeviceType::desktop, "Mac OS X", "Safari", "WebKit"},
      {"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", DeviceType::desktop, "Windows", "IE",
       "Trident"},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.1 "
       "Mobile/15E148 Safari/604.1",
       DeviceType::smartphone, "iOS", "Mobile Safari", "WebKit"},
      {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
       "CriOS/119.0.6045.109 Mobile/15E148 Safari/604.1",
       DeviceType::smartphone, "iOS", "Chrome Mobile iOS", "WebKit"},
      {"Mozilla/5.0 (Linux; Android 13; SM-S901B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile "
       "Safari/537.36",
       DeviceType::smartphone, "Android", "Chrome Mobile", "Blink"},
      {"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 "
       "Mobile/15E148 Safari/604.1",
       DeviceType::tablet, "iOS", "Mobile Safari", "WebKit"},
      {"Mozilla/5.0 (Linux; Android 12; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/108.0.0.0 Safari/537.36",
       DeviceType::tablet, "Android", "Chrome", "Blink"},
      {"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", DeviceType::bot, "Other",
       "Googlebot", ""},
      {"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", DeviceType::bot, "Other", "bingbot",
       ""},
      {"curl/8.4.0", DeviceType::bot, "Other", "curl", ""},
      {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
       DeviceType::bot, "Linux", "HeadlessChrome", "Blink"},
      {"Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 "
       "Chrome/76.0.3809.146 TV Safari/537.36",
       DeviceType::tv, "Tizen", "Samsung Internet", "Blink"},
      {"Mozilla/5.0 (PlayStation 5 3.11) AppleWebKit/605.1.15 (KHTML, like Gecko)", DeviceType::console, "Other",
       "Apple Mail", "WebKit"},
      {"Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5",
       DeviceType::feature_phone, "KaiOS", "Firefox Mobile", "Gecko"},
      {"atc/1.0 watchOS/5.1.3 model/Watch3,4 hwp/t8004 build/16S535 (6; dt:156)", DeviceType::wearable, "WatchOS",
       "Apple Watch App", ""},
  };
  for (const auto& c : cases) {
    const auto info = detector().detect(c.ua);
    EXPECT_EQ(to_string(info->type), to_string(c.type)) << c.ua;
    EXPECT_EQ(info->os_family, c.os) << c.ua;
    EXPECT_EQ(info->browser_family, c.browser) << c.ua;
    EXPECT_EQ(info->browser_engine, c.engine) << c.ua;
    EXPECT_EQ(info->is_bot, c.type == DeviceType::bot) << c.ua;
  }
}

TEST(DeviceType, SampleRecipeMobileVisitor) {
  // The "mobile visitor" case of cases.json expects device smartphone, os iOS.
  const auto info = detector().detect(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 16_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
      "Version/16.1 Mobile/15E148 Safari/604.1");
  EXPECT_EQ(info->type, DeviceType::smartphone);
  EXPECT_EQ(info->os_family, "iOS");
  EXPECT_EQ(info->os_version(), "16.1");
  EXPECT_EQ(info->browser_version(), "16.1");
}

TEST(DeviceDetector, HostileUserAgents) {
  const std::string hostile[] = {"",
                                 " ",
                                 std::string(100000, 'A'),
                                 std::string(5000, '('),
                                 std::string("\0\xff\xfe", 3),
                                 "Mozilla/5.0 (\r\n) $1 $9 \\1",
                                 std::string(20000, '/') + "Chrome/1"};
  for (const auto& ua : hostile) {
    const auto info = detector().detect(ua);
    EXPECT_FALSE(info->browser_family.empty());
    EXPECT_FALSE(info->os_family.empty());
  }
  EXPECT_EQ(detector().detect("")->type, DeviceType::unknown);
}

// Regexes see the first 512 bytes of an agent: what follows changes nothing, even text
// that would match (a long crafted agent cannot make the regexes work on 8 KB).
TEST(DeviceDetector, OnlyTheFirst512BytesOfAnAgentAreMatched) {
  std::string head =
      "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile "
      "Safari/537.36";
  head.resize(512, ' ');
  const DeviceInfo alone = detector().parse(head);
  EXPECT_EQ(alone.device_model, "SM-S911B");
  for (const std::string& tail : {std::string(" Googlebot/2.1 (+http://www.google.com/bot.html)"),
                                  std::string(" (iPad; CPU OS 17_0 like Mac OS X)"), std::string(8000, '(')}) {
    const DeviceInfo padded = detector().parse(head + tail);
    EXPECT_EQ(padded.browser_family, alone.browser_family) << tail;
    EXPECT_EQ(padded.os_family, alone.os_family) << tail;
    EXPECT_EQ(padded.device_family, alone.device_family) << tail;
    EXPECT_EQ(padded.is_bot, alone.is_bot) << tail;
    EXPECT_EQ(padded.type, alone.type) << tail;
  }
}

// PCRE2 matches the regexes with a bound on its backtracking; a regex that reaches the
// bound is matched by RE2, so the answer is the same and the time stays bounded.
TEST(DeviceDetector, ARegexThatMakesPcre2BacktrackTooLongIsAnsweredByRe2) {
  test::TempDir dir("device-regexes");
  const std::string path = (dir.path() / "regexes.yaml").string();
  std::ofstream(path) << "user_agent_parsers:\n"
                         "  - regex: '(a+)+b|(a{30}c)'\n"
                         "    family_replacement: 'Backtracker $2'\n"
                         "os_parsers:\n"
                         "  - regex: '(Linux)'\n"
                         "device_parsers:\n"
                         "  - regex: 'Crafted(a+)+b|Crafted(a{30}c)'\n"
                         "    device_replacement: 'Crafted $2'\n"
                         "  - regex: '(?:Android) ([^;]+);'\n"
                         "    device_replacement: 'Phone $1'\n";
  const DeviceDetector custom(path, 0);
  const std::string thirty(30, 'a');
  EXPECT_EQ(custom.parse(thirty + "c").browser_family, "Backtracker " + thirty + "c");  // PCRE2 gives up here
  EXPECT_EQ(custom.parse(thirty + "x").browser_family, "Other");                        // and here
  EXPECT_EQ(custom.parse("aab").browser_family, "Backtracker");                         // PCRE2 answers
  // The same for a candidate of the literal prefilter ("crafted" is its atom).
  EXPECT_EQ(custom.parse("Crafted" + thirty + "c").device_family, "Crafted " + thirty + "c");
  EXPECT_EQ(custom.parse("Crafted" + thirty + "x").device_family, "Other");
  const DeviceInfo phone = custom.parse("Mozilla/5.0 (Linux; Android 7.0;)");
  EXPECT_EQ(phone.os_family, "Linux");
  EXPECT_EQ(phone.device_family, "Phone 7.0");
}

TEST(DeviceDetector, CacheReturnsTheSameResultAndIsBounded) {
  DeviceDetector small(std::string(kDefaultRegexesPath), 64);
  const std::string ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
  const auto first = small.detect(ua);
  const auto second = small.detect(ua);
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(small.cache_hits(), 1u);
  for (int i = 0; i < 1000; ++i) (void)small.detect("agent/" + std::to_string(i));
  // The first entry has long been evicted: a new parse, an equal result.
  const auto third = small.detect(ua);
  EXPECT_NE(third.get(), first.get());
  EXPECT_EQ(third->browser_family, "Firefox");
  EXPECT_EQ(small.cache_hits(), 1u);
}

// The cache holds agents up to the 512 bytes the regexes read, so its bytes are bounded
// (docs/reliability.md); a longer agent is parsed each time, never kept.
TEST(DeviceDetector, AgentsLongerThanWhatIsMatchedAreNotCached) {
  DeviceDetector detector(std::string(kDefaultRegexesPath), 64);
  const std::string base = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0 ";
  const std::string longest_cached = base + std::string(512 - base.size(), 'x');
  const std::string too_long = longest_cached + "x";
  (void)detector.detect(longest_cached);
  (void)detector.detect(longest_cached);
  EXPECT_EQ(detector.cache_hits(), 1u);
  const auto first = detector.detect(too_long);
  const auto second = detector.detect(too_long);
  EXPECT_NE(first.get(), second.get());
  EXPECT_EQ(second->browser_family, "Firefox");
  EXPECT_EQ(detector.cache_hits(), 1u);
  EXPECT_EQ(detector.cache_misses(), 3u);
}

TEST(DeviceDetector, ConcurrentDetection) {
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        const auto info =
            detector().detect("Mozilla/5.0 (Linux; Android 13; Pixel " + std::to_string((i + t) % 50) +
                              ") AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0.0.0 Mobile Safari/537.36");
        if (info->os_family != "Android" || info->type != DeviceType::smartphone) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ClientHints, RefineTheUserAgent) {
  // A reduced Chrome UA on Android: the hints carry the real model and version.
  const std::string reduced =
      "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36";
  ClientHints hints;
  hints.brands = R"("Not_A Brand";v="8", "Chromium";v="120", "Google Chrome";v="120")";
  hints.mobile = "?1";
  hints.platform = "\"Android\"";
  hints.platform_version = "\"14.0.0\"";
  hints.model = "\"Pixel 8\"";
  const DeviceInfo info = detector().detect(reduced, hints);
  EXPECT_EQ(info.os_family, "Android");
  EXPECT_EQ(info.os_major, "14");
  EXPECT_EQ(info.os_minor, "0");
  EXPECT_EQ(info.device_model, "Pixel 8");
  EXPECT_EQ(info.type, DeviceType::smartphone);
  EXPECT_EQ(info.browser_major, "120");
  // Windows 11 is only visible in the hints.
  ClientHints windows;
  windows.platform = "\"Windows\"";
  windows.platform_version = "\"15.0.0\"";
  windows.mobile = "?0";
  const DeviceInfo win = detector().detect(
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      windows);
  EXPECT_EQ(win.os_major, "11");
  EXPECT_EQ(win.type, DeviceType::desktop);
}

TEST(DeviceDetector, BadRegexFileIsAClearStartupError) {
  try {
    DeviceDetector broken("/nonexistent/regexes.yaml");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("UA_REGEXES_PATH=/nonexistent/regexes.yaml"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace traffic::device
