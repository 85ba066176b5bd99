#include "traffic/config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace traffic::config {
namespace {

constexpr const char* kKey = "0123456789abcdef0123456789abcdef";

// Each test starts from an environment without any of our variables, and restores nothing:
// tests in this binary do not depend on the process environment otherwise.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const auto& option : list_options()) unsetenv(option.env.c_str());
    unsetenv("ENCRYPTION_KEY");
    dir_ = std::filesystem::temp_directory_path() / ("traffic-config-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    dotenv_ = (dir_ / ".env").string();
  }
  void TearDown() override {
    for (const auto& option : list_options()) unsetenv(option.env.c_str());
    unsetenv("ENCRYPTION_KEY");
    std::filesystem::remove_all(dir_);
  }
  ParseOutcome run(std::vector<std::string> args) {
    args.insert(args.begin(), "trafficd");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    return parse(static_cast<int>(argv.size()), argv.data(), dotenv_);
  }
  static void required_env() {
    setenv("ENCRIPTION_KEY", kKey, 1);
    setenv("MAXMIND_PATH", "/data/GeoIP2-City.mmdb", 1);
  }
  void write_dotenv(const std::string& text) { std::ofstream(dotenv_) << text; }

  std::filesystem::path dir_;
  std::string dotenv_;
};

TEST_F(ConfigTest, DefaultsWithTheRequiredVariables) {
  required_env();
  const auto outcome = run({});
  ASSERT_TRUE(outcome.config) << outcome.message;
  const Config& c = *outcome.config;
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.port, 5000);
  EXPECT_EQ(c.recipe_poll_seconds, 20U);
  EXPECT_EQ(c.default_offer_id, 36303);
  EXPECT_EQ(c.limits.max_request_line, 8192U);
  EXPECT_EQ(c.limits.max_header_fields, 100U);
  EXPECT_EQ(c.encryption_key, kKey);
  EXPECT_FALSE(c.debug_open);
}

// The old service chose its default campaign by NODE_ENV; DEFAULT_CAMPAIGN_ID still wins.
TEST_F(ConfigTest, NodeEnvProductionSelectsTheProductionDefaultCampaign) {
  required_env();
  EXPECT_EQ(run({}).config->default_campaign_id, 1000976);
  setenv("NODE_ENV", "development", 1);
  EXPECT_EQ(run({}).config->default_campaign_id, 1000976);
  setenv("NODE_ENV", "production", 1);
  EXPECT_EQ(run({}).config->default_campaign_id, kProductionDefaultCampaignId);
  EXPECT_EQ(kProductionDefaultCampaignId, 1005032);
  EXPECT_EQ(run({"--default-campaign-id", "42"}).config->default_campaign_id, 42);
  setenv("DEFAULT_CAMPAIGN_ID", "43", 1);
  EXPECT_EQ(run({}).config->default_campaign_id, 43);
}

// Old variables that are no longer read are named at start-up with what replaces them.
TEST_F(ConfigTest, OldVariablesNoLongerReadAreWarnedAboutOnceEach) {
  required_env();
  EXPECT_TRUE(run({}).warnings.empty());
  setenv("SOCKET_HOST", "ws://old:3000", 1);
  setenv("AWS_DYNAMODB_TABLE", "lids", 1);
  setenv("AWS_DYNAMODB_REGION", "eu-west-1", 1);
  setenv("REDIS_URL", "redis://old:6379", 1);
  const auto outcome = run({});
  unsetenv("SOCKET_HOST");
  unsetenv("AWS_DYNAMODB_TABLE");
  unsetenv("AWS_DYNAMODB_REGION");
  unsetenv("REDIS_URL");
  ASSERT_TRUE(outcome.config) << outcome.message;
  ASSERT_EQ(outcome.warnings.size(), 4U);
  EXPECT_TRUE(outcome.warnings[0].starts_with("AWS_DYNAMODB_REGION is set but no longer read; instead: the lid store"));
  EXPECT_TRUE(outcome.warnings[1].starts_with("AWS_DYNAMODB_TABLE is set"));
  EXPECT_NE(outcome.warnings[2].find("REDIS_URL is set but no longer read; instead: REDIS_HOST"), std::string::npos);
  EXPECT_TRUE(outcome.warnings[3].starts_with("SOCKET_HOST is set"));
}

TEST_F(ConfigTest, OldNamesNewNamesAndFlagsOverTheEnvironment) {
  setenv("ENCRYPTION_KEY", kKey, 1);  // the correct spelling stands in for ENCRIPTION_KEY
  setenv("MAXMIND_PATH", "/a.mmdb", 1);
  setenv("PORT", "6000", 1);
  setenv("DEBUG_OPEN", "yes", 1);
  const auto outcome = run({"--port", "7000", "--threads=3", "--refuse-v1-links"});
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_EQ(outcome.config->port, 7000);
  EXPECT_EQ(outcome.config->threads, 3U);
  EXPECT_TRUE(outcome.config->refuse_v1_links);
  EXPECT_TRUE(outcome.config->debug_open);
  EXPECT_EQ(outcome.config->encryption_key, kKey);
}

TEST_F(ConfigTest, DotEnvFillsInButTheEnvironmentWins) {
  setenv("PORT", "6000", 1);
  write_dotenv("# comment\nexport ENCRIPTION_KEY=\"" + std::string(kKey) +
               "\"\nMAXMIND_PATH = '/x.mmdb'\nPORT=1\n\nADMIN_TOKEN=t0k\n");
  const auto outcome = run({});
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_EQ(outcome.config->port, 6000);
  EXPECT_EQ(outcome.config->maxmind_path, "/x.mmdb");
  EXPECT_EQ(outcome.config->admin_token, "t0k");
}

TEST_F(ConfigTest, MalformedDotEnvLineIsNamed) {
  write_dotenv("PORT=1\nthis is not an assignment\n");
  const auto outcome = run({});
  EXPECT_FALSE(outcome.config);
  EXPECT_EQ(outcome.exit_code, 2);
  EXPECT_EQ(outcome.message, dotenv_ + ":2: expected NAME=value");
}

TEST_F(ConfigTest, EachBadValueStopsWithOneLineNamingTheVariable) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"--port", "abc"}, "PORT: not an integer: 'abc'"},
      {{"--port", "70000"}, "PORT: must be between 0 and 65535"},
      {{"--threads", "-1"}, "THREADS: must be between 0 and 1024"},
      {{"--encryption-key", "short"}, "ENCRIPTION_KEY"},
      {{"--link-keys-v2", "x"}, "LINK_KEYS_V2"},
      {{"--url-hash-mode", "sha1"}, "URL_HASH_MODE: must be md5 or hmac-sha256, not 'sha1'"},
      {{"--spool-full-policy", "wait"}, "SPOOL_FULL_POLICY: must be reject or drop_oldest, not 'wait'"},
      {{"--trust-proxy", "10.0.0.0/99"}, "TRUST_PROXY: "},
      {{"--fallback-url", "example.com/x"}, "FALLBACK_URL: must be an absolute URL"},
      {{"--log-level", "loud"}, "LOG_LEVEL: must be"},
      {{"--debug-open=maybe"}, "DEBUG_OPEN: not a boolean: 'maybe'"},
      {{"--max-header-fields", "0"}, "MAX_HEADER_FIELDS: must be between 8 and 100000"},
      {{"--no-such-flag"}, "--no-such-flag"},
  };
  for (const auto& [args, expected] : cases) {
    required_env();
    const auto outcome = run(args);
    EXPECT_FALSE(outcome.config) << args[0];
    EXPECT_EQ(outcome.exit_code, 2) << args[0];
    EXPECT_EQ(outcome.message.find('\n'), std::string::npos) << outcome.message;
    EXPECT_NE(outcome.message.find(expected), std::string::npos) << outcome.message;
    EXPECT_EQ(outcome.message.find(kKey), std::string::npos) << "secret in " << outcome.message;
  }
}

// Closed sets of words are parsed into enums once, when the configuration is read.
TEST_F(ConfigTest, WordsBecomeTypedValues) {
  required_env();
  const auto outcome =
      run({"--url-hash-mode", "hmac-sha256", "--spool-full-policy", "drop_oldest", "--offers-recipe-url",
           "https://recipes.example/o.json.gz", "--campaigns-recipe-url", "https://recipes.example/c.json.gz"});
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_EQ(outcome.config->url_hash_mode, url::HashMode::hmac_sha256);
  EXPECT_EQ(outcome.config->spool_full_policy, pipeline::SpoolFullPolicy::drop_oldest);
  EXPECT_EQ(outcome.config->recipe_source(), Config::RecipeSource::http);
  const auto defaults = run({});
  EXPECT_EQ(defaults.config->url_hash_mode, url::HashMode::md5);
  EXPECT_EQ(defaults.config->spool_full_policy, pipeline::SpoolFullPolicy::reject);
  EXPECT_EQ(defaults.config->recipe_source(), Config::RecipeSource::file);
  EXPECT_EQ(url_settings(*outcome.config).hash_mode, url::HashMode::hmac_sha256);
}

TEST_F(ConfigTest, RequiredVariables) {
  EXPECT_EQ(run({}).message, "ENCRIPTION_KEY: required (32 bytes or 64 hex digits)");
  setenv("ENCRIPTION_KEY", kKey, 1);
  EXPECT_EQ(run({}).message, "MAXMIND_PATH: required (a GeoIP2/GeoLite2 City or Country database)");
}

TEST_F(ConfigTest, HelpListsEveryOptionWithItsVariableAndDefault) {
  const auto outcome = run({"--help"});
  EXPECT_FALSE(outcome.config);
  EXPECT_EQ(outcome.exit_code, 0);
  for (const auto& option : list_options()) {
    EXPECT_NE(outcome.message.find(option.flag), std::string::npos) << option.flag;
    EXPECT_NE(outcome.message.find("(Env:" + option.env + ")"), std::string::npos) << option.env;
  }
  EXPECT_NE(outcome.message.find("--port TEXT=5000"), std::string::npos) << outcome.message;
}

// The old service's Sentinel variables: the shared state is then in Redis, found through them.
TEST_F(ConfigTest, RedisThroughSentinel) {
  required_env();
  setenv("REDIS_SENTINELS", "10.0.0.1:26380,10.0.0.2", 1);
  setenv("REDIS_SENTINEL_MASTER", "traffic", 1);
  setenv("REDIS_SENTINEL_PASSWORD", "sentinel-secret", 1);
  const ParseOutcome outcome = run({});
  ASSERT_TRUE(outcome.config) << outcome.message;
  EXPECT_TRUE(outcome.config->redis_configured());
  const redis::Endpoint endpoint = redis_endpoint(*outcome.config);
  ASSERT_EQ(endpoint.sentinels.size(), 2U);
  EXPECT_EQ(endpoint.sentinels[1], (std::pair<std::string, int>{"10.0.0.2", 26379}));
  EXPECT_EQ(endpoint.sentinel_master, "traffic");
  EXPECT_EQ(endpoint.sentinel_password, "sentinel-secret");
  for (const auto& line : outcome.config->describe()) EXPECT_EQ(line.find("sentinel-secret"), std::string::npos);

  setenv("REDIS_SENTINELS", "10.0.0.1:port", 1);
  const ParseOutcome bad = run({});
  ASSERT_FALSE(bad.config);
  EXPECT_EQ(bad.message.rfind("REDIS_SENTINELS: ", 0), 0U) << bad.message;
}

TEST_F(ConfigTest, DescribeHidesSecrets) {
  required_env();
  setenv("ADMIN_TOKEN", "very-secret", 1);
  const auto outcome = run({});
  ASSERT_TRUE(outcome.config);
  std::string all;
  for (const auto& line : outcome.config->describe()) all += line + "\n";
  EXPECT_EQ(all.find(kKey), std::string::npos);
  EXPECT_EQ(all.find("very-secret"), std::string::npos);
  EXPECT_NE(all.find("ADMIN_TOKEN=(set)\n"), std::string::npos);
  EXPECT_NE(all.find("URL_HASH_SECRET=\n"), std::string::npos);
  EXPECT_NE(all.find("PORT=5000\n"), std::string::npos);
}

}  // namespace
}  // namespace traffic::config
