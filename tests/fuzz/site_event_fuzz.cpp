// Site events (SPEC §13): any body is parsed or refused with a named reason, never a crash;
// an accepted event's record is one line of valid JSON.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "traffic/events/event.hpp"
#include "traffic/events/event_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = traffic::events::parse_events(input);
  if (!parsed) {
    if (parsed.error().message().empty()) std::abort();  // a refusal always says why
    return 0;
  }
  if (parsed->empty() || parsed->size() > traffic::events::EventLimits::kEvents) std::abort();
  traffic::events::EventFacts facts;
  facts.user_agent = input.substr(0, 64);  // visitor bytes, whatever they are
  for (const auto& event : *parsed) {
    std::string line;
    traffic::events::append_event_record(line, event, facts);
    if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
    boost::system::error_code ec;
    (void)boost::json::parse(line, ec);
    if (ec) std::abort();
  }
  return 0;
}
