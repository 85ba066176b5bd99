// Example 1 — links: what a publisher's `o=` parameter carries, and how to read it.
//
// A tracking link names an offer and a campaign, encrypted with the network's key so that a
// publisher can neither read nor forge it (SPEC.md §3). This program is what a service that
// only needs to read links links against: traffic::link, which brings OpenSSL and Boost and
// nothing else — no Redis client, no MaxMind, no regex engine.
//
//   decode_link                  mints a v1 and a v2 link and reads them back
//   decode_link <o> [<o>…]       reads the links given (with the demo key)
//
// CMake:  find_package(traffic REQUIRED COMPONENTS link)
//         target_link_libraries(decode_link PRIVATE traffic::link)

#include <traffic/link/link.hpp>

#include <iostream>
#include <string>
#include <string_view>

namespace {

// The demo deployment's ENCRIPTION_KEY (32 bytes; 64 hex digits work as well). In a real
// service it comes from the same environment trafficd reads (docs/configuration.md).
constexpr std::string_view kDemoKey = "0123456789abcdef0123456789abcdef";

// decode() answers with a value or an error_code. Every failure is the same single error
// (`invalid_link`), whatever went wrong inside: a caller cannot be turned into an oracle
// that tells an attacker which byte of a forged link was wrong.
bool print(std::string_view o, const traffic::link::LinkKeys& keys) {
  const auto ids = traffic::link::decode(o, keys);
  if (!ids) {
    std::cout << o << " -> " << ids.error().message() << "\n";
    return false;
  }
  std::cout << o << " -> offer " << ids->offer_id << ", campaign " << ids->campaign_id << "\n";
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  // Keys are parsed once and shared read-only by every thread. With no v2 keys given, a v2
  // key is derived from the v1 key (HKDF), so old and new links both work at once.
  const auto keys = traffic::link::LinkKeys::from_config(kDemoKey);

  if (argc > 1) {
    bool all_good = true;
    for (int i = 1; i < argc; ++i) all_good = print(argv[i], keys) && all_good;
    return all_good ? 0 : 1;
  }

  // v1 is the old service's format (AES-256-CBC, "iv:ciphertext" in hex) that publishers
  // already have in their pages; v2 (AES-256-GCM) is authenticated and shorter.
  const traffic::link::LinkIds ids{.offer_id = 100, .campaign_id = 10};
  const std::string v1 = traffic::link::encode_v1(ids, keys);
  const std::string v2 = traffic::link::encode_v2(ids, keys);
  const bool read_back = print(v1, keys) && print(v2, keys);

  // One flipped character: refused, with the same error as any other bad link.
  std::string tampered = v2;
  char& middle = tampered[tampered.size() / 2];
  middle = middle == 'A' ? 'B' : 'A';
  const bool refused = !print(tampered, keys);
  return read_back && refused ? 0 : 1;
}
