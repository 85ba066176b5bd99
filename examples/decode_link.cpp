// Decodes an o= link parameter with the sample key and looks it up in the demo recipe.
//   decode_link <o> [offersRecipe.json.gz campaignsRecipe.json.gz]
#include <traffic/common/file.hpp>
#include <traffic/link/link.hpp>
#include <traffic/recipe/store.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc != 2 && argc != 4) {
    std::cerr << "usage: decode_link <o> [offers.json.gz campaigns.json.gz]\n";
    return 2;
  }
  const auto keys = traffic::link::LinkKeys::from_config("0123456789abcdef0123456789abcdef");
  auto ids = traffic::link::decode(argv[1], keys);
  if (!ids) {
    std::cerr << ids.error().message() << "\n";
    return 1;
  }
  std::cout << "offer " << ids->offer_id << ", campaign " << ids->campaign_id << "\n";
  if (argc == 4) {
    traffic::recipe::LoadReport offers_report;
    traffic::recipe::LoadReport campaigns_report;
    auto offers = traffic::recipe::load_offers(traffic::read_file(argv[2]), offers_report);
    auto campaigns = traffic::recipe::load_campaigns(traffic::read_file(argv[3]), campaigns_report);
    if (!offers || !campaigns) return 1;
    traffic::recipe::Store store;
    (void)store.replace(std::move(*offers), std::move(*campaigns));
    if (const auto* offer = store.current()->offer(ids->offer_id)) {
      std::cout << offer->name << ": " << offer->landing_page_url << " (payout " << offer->payout.to_string() << ")\n";
    }
  }
  return 0;
}
