#pragma once
// `trafficctl explain`: one click evaluated offline against recipe files.

#include <CLI/CLI.hpp>
#include <string>

namespace trafficctl {

/// An environment variable, or `fallback` when it is not set.
std::string env_or(const char* name, const std::string& fallback = {});
/// The v1 link key: ENCRIPTION_KEY (the old, misspelt name), else ENCRYPTION_KEY, as trafficd reads it.
std::string configured_v1_key();

struct ExplainOptions {
  std::string offers_path;
  std::string campaigns_path;
  std::string link;  ///< the o= value; or offer_id + campaign_id
  std::int64_t offer_id = 0;
  std::int64_t campaign_id = 0;
  std::string ip;
  std::string user_agent;
  std::string at;       ///< ISO-8601; default now
  std::string country;  ///< overrides the geo lookup
  std::string subid;
  std::string cid;
  std::string city_db;  ///< default $MAXMIND_PATH
  std::string isp_db;   ///< default $MAXMIND_PATH_ISP
  std::string ua_regexes;
  std::string v1_key;
  std::string v2_keys;
  // The rest default to trafficd's configuration from the environment (and .env), read as
  // trafficd reads it (config::from_environment), so both decide alike.
  std::string hash_secret;            ///< default $URL_HASH_SECRET
  std::int64_t default_offer = 0;     ///< default $DEFAULT_OFFER_ID
  std::int64_t default_campaign = 0;  ///< default $DEFAULT_CAMPAIGN_ID (NODE_ENV=production included)
  std::string fallback_url;           ///< default $FALLBACK_URL
  bool json = false;

  void add_to(CLI::App& command);
};

/// Prints the decision, its trace and the redirect URL. Returns the process exit code.
int explain(const ExplainOptions& options);

}  // namespace trafficctl
