// trafficctl: the operator's command-line tool over libtraffic.
//
// Exit codes: 0 success; 1 the input was refused (bad link, refused recipe, problems
// with --strict, an explained click that would get a 404); 2 usage error or unexpected failure.

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <string>

#include "explain.hpp"
#include "stats.hpp"
#include "top.hpp"
#include "traffic/common/file.hpp"
#include "traffic/link/link.hpp"
#include "traffic/recipe/loader.hpp"
#include "traffic/recipe/snapshot.hpp"
#include "traffic/recipe/synthetic.hpp"

namespace {

constexpr int kOk = 0;
constexpr int kRefused = 1;
constexpr int kUsage = 2;

struct KeyOptions {
  std::string v1_key;
  std::string v2_keys;
  void add_to(CLI::App& command) {
    command.add_option("--key", v1_key, "v1 key, 32 raw bytes or 64 hex digits (default: $ENCRIPTION_KEY)");
    command.add_option("--v2-keys", v2_keys, "v2 keys 'kid:hex64,...', first is active (default: $LINK_KEYS_V2)");
  }
  traffic::link::LinkKeys keys() const {
    return traffic::link::LinkKeys::from_config(v1_key.empty() ? trafficctl::configured_v1_key() : v1_key,
                                                v2_keys.empty() ? trafficctl::env_or("LINK_KEYS_V2") : v2_keys);
  }
};

void print_report(const char* what, const traffic::recipe::LoadReport& report) {
  std::cout << what << ": " << report.loaded << " records (" << report.elements << " elements, " << report.json_bytes
            << " bytes of JSON, " << report.skipped_not_object << " not objects, " << report.skipped_bad_id
            << " without a positive id, " << report.duplicate_ids << " duplicate ids, " << report.malformed_fields
            << " problems)\n";
  for (const auto& problem : report.problems) {
    std::cout << "  " << traffic::recipe::to_string(problem.kind) << " " << problem.id;
    if (!problem.field.empty()) std::cout << " " << problem.field;
    std::cout << ": " << problem.reason << "\n";
  }
  if (report.malformed_fields > report.problems.size()) {
    std::cout << "  … and " << report.malformed_fields - report.problems.size() << " more\n";
  }
}

// Cross-record checks: references the rule engine will follow at click time.
std::size_t check_references(const traffic::recipe::Snapshot& snapshot) {
  std::size_t dangling = 0;
  auto report = [&](const char* kind, std::int64_t id, const char* field, std::int64_t target) {
    if (++dangling <= 50)
      std::cout << "  " << kind << " " << id << " " << field << ": offer " << target << " is not in the recipe\n";
  };
  snapshot.for_each_offer([&](const traffic::recipe::Offer& offer) {
    if (offer.exit_offer_id > 0 && !snapshot.offer(offer.exit_offer_id)) {
      report("offer", offer.id, "offerIdRedirectExitTraffic", offer.exit_offer_id);
    }
    for (const auto& child : offer.aggregated_children) {
      if (!snapshot.offer(child.offer_id)) report("offer", offer.id, "offersAggregatedIds", child.offer_id);
    }
  });
  snapshot.for_each_campaign([&](const traffic::recipe::Campaign& campaign) {
    if (!snapshot.offer(campaign.offer_id)) report("campaign", campaign.id, "offerId", campaign.offer_id);
  });
  return dangling;
}

int validate(const std::string& offers_path, const std::string& campaigns_path, bool strict) {
  traffic::recipe::LoadReport offers_report;
  traffic::recipe::LoadReport campaigns_report;
  auto offers = traffic::recipe::load_offers(traffic::read_file(offers_path), offers_report);
  auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(campaigns_path), campaigns_report);
  if (!offers) {
    std::cout << offers_path << ": refused: " << offers.error().message() << " (" << offers_report.error_detail
              << ")\n";
  } else {
    print_report("offers", offers_report);
  }
  if (!campaigns) {
    std::cout << campaigns_path << ": refused: " << campaigns.error().message() << " (" << campaigns_report.error_detail
              << ")\n";
  } else {
    print_report("campaigns", campaigns_report);
  }
  if (!offers || !campaigns) return kRefused;
  auto snapshot = traffic::recipe::Snapshot::build(std::move(*offers), std::move(*campaigns));
  std::cout << "references:\n";
  const std::size_t dangling = check_references(*snapshot);
  std::cout << "  " << dangling << " dangling references (the rule engine sends those clicks to the default offer)\n";
  const bool problems = offers_report.malformed_fields + campaigns_report.malformed_fields + dangling > 0;
  return strict && problems ? kRefused : kOk;
}

// The command line, parsed and carried out; exceptions reach main().
int run(int argc, char** argv) {
  CLI::App app{"trafficctl — links, recipes, clicks and event analytics of trafficd"};
  app.require_subcommand(1);

  KeyOptions encode_keys;
  std::int64_t offer_id = 0;
  std::int64_t campaign_id = 0;
  bool v2 = false;
  auto* encode = app.add_subcommand("encode", "Encode an offer/campaign pair as a link parameter (o=)");
  encode->add_option("--offer", offer_id, "offer id")->required()->check(CLI::PositiveNumber);
  encode->add_option("--campaign", campaign_id, "campaign id")->required()->check(CLI::PositiveNumber);
  encode->add_flag("--v2", v2, "authenticated v2 format (default: compatible v1)");
  encode_keys.add_to(*encode);

  KeyOptions decode_keys;
  std::string link;
  bool refuse_v1 = false;
  auto* decode = app.add_subcommand("decode", "Decode a link parameter (o=) into its offer and campaign");
  decode->add_option("link", link, "the o= value")->required();
  decode->add_flag("--refuse-v1", refuse_v1, "accept v2 links only");
  decode_keys.add_to(*decode);

  auto* recipe = app.add_subcommand("recipe", "Recipe files");
  recipe->require_subcommand(1);
  std::string offers_path;
  std::string campaigns_path;
  bool strict = false;
  auto* validate_cmd =
      recipe->add_subcommand("validate", "Load a recipe as trafficd would and report problems by record");
  validate_cmd->add_option("offers", offers_path, "offersRecipe.json[.gz]")->required()->check(CLI::ExistingFile);
  validate_cmd->add_option("campaigns", campaigns_path, "campaignsRecipe.json[.gz]")
      ->required()
      ->check(CLI::ExistingFile);
  validate_cmd->add_flag("--strict", strict, "exit 1 on any record-level problem too");

  traffic::recipe::SyntheticOptions gen_options;
  std::string out_dir;
  auto* gen = recipe->add_subcommand("gen", "Write a synthetic recipe with every rule kind (for benchmarks)");
  gen->add_option("--offers", gen_options.offers, "number of offers")->check(CLI::PositiveNumber);
  gen->add_option("--campaigns", gen_options.campaigns, "number of campaigns");
  gen->add_option("--seed", gen_options.seed, "random seed (same seed, same files)");
  gen->add_option("--level", gen_options.gzip_level, "gzip level 1-9")->check(CLI::Range(1, 9));
  gen->add_option("--out", out_dir, "output directory")->required();

  trafficctl::ExplainOptions explain_options;
  auto* explain_cmd = app.add_subcommand(
      "explain", "Decide one click against recipe files, without recording it, and show why (the decision's trace)");
  explain_options.add_to(*explain_cmd);

  auto* stats_cmd = app.add_subcommand("stats", "The event analytics kept in Redis (REDIS_HOST), as tables");
  stats_cmd->require_subcommand(1);
  trafficctl::StatsOptions stats_options;
  auto* stats_pages = stats_cmd->add_subcommand("pages", "Page views and unique visitors per website");
  auto* stats_ads =
      stats_cmd->add_subcommand("ads", "Impressions, clicks, CTR, unique and repeat clickers, unique visitors per ad");
  stats_options.add_to(*stats_pages);
  stats_options.add_to(*stats_ads);

  trafficctl::TopOptions top_options;
  auto* top_cmd = app.add_subcommand("top", "The fleet view, live in the terminal (q quits; c/p/l/n sort)");
  top_options.add_to(*top_cmd);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kOk : kUsage;
  }

  if (*encode) {
    const traffic::link::LinkKeys keys = encode_keys.keys();
    const traffic::link::LinkIds ids{offer_id, campaign_id};
    std::cout << (v2 ? traffic::link::encode_v2(ids, keys) : traffic::link::encode_v1(ids, keys)) << "\n";
    return kOk;
  }
  if (*decode) {
    auto ids = traffic::link::decode(link, decode_keys.keys(), !refuse_v1);
    if (!ids) {
      std::cerr << "invalid link\n";
      return kRefused;
    }
    std::cout << "{\"offerId\":" << ids->offer_id << ",\"campaignId\":" << ids->campaign_id
              << ",\"version\":" << (link.starts_with("v2.") ? 2 : 1) << "}\n";
    return kOk;
  }
  if (*validate_cmd) return validate(offers_path, campaigns_path, strict);
  if (*explain_cmd) return trafficctl::explain(explain_options);
  if (*top_cmd) return trafficctl::top(top_options);
  if (*stats_pages) return trafficctl::stats(trafficctl::StatsReport::pages, stats_options);
  if (*stats_ads) return trafficctl::stats(trafficctl::StatsReport::ads, stats_options);
  if (*gen) {
    const auto files = traffic::recipe::write_synthetic_recipe(gen_options, out_dir);
    std::cout << files.offers.string() << " (" << gen_options.offers << " offers, " << files.offers_json_bytes
              << " bytes of JSON)\n"
              << files.campaigns.string() << " (" << gen_options.campaigns << " campaigns, "
              << files.campaigns_json_bytes << " bytes of JSON)\n";
    return kOk;
  }
  return kUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "trafficctl: " << e.what() << "\n";
  } catch (...) {
    std::cerr << "trafficctl: unexpected failure\n";
  }
  return kUsage;
}
