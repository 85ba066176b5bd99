#include "traffic/recipe/loader.hpp"

#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <memory>

#include "loose_json.hpp"
#include "record_parser.hpp"
#include "text_stream.hpp"

namespace traffic::recipe {
namespace json = boost::json;
using detail::FieldSink;

namespace {

class LoadErrorCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "traffic.recipe"; }
  std::string message(int value) const override {
    switch (static_cast<LoadError>(value)) {
      case LoadError::invalid_gzip: return "corrupt gzip data";
      case LoadError::truncated_gzip: return "truncated gzip data";
      case LoadError::too_large: return "recipe too large";
      case LoadError::invalid_json: return "invalid JSON";
      case LoadError::too_deep: return "JSON nested too deeply";
      case LoadError::not_an_array: return "recipe is not a JSON array";
      case LoadError::empty_recipe: return "recipe would become empty";
      case LoadError::invalid_update: return "invalid record update";
    }
    return "unknown recipe error";
  }
};

bool is_space(char c) noexcept {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

// Skips whitespace, refilling the window as needed. Returns false at the end of the text.
boost::system::result<bool> skip_space(detail::TextStream& in) {
  for (;;) {
    const std::string_view w = in.window();
    std::size_t i = 0;
    while (i < w.size() && is_space(w[i])) ++i;
    in.consume(i);
    if (i < w.size()) return true;
    auto more = in.fill();
    if (!more) return {boost::system::in_place_error, more.error()};
    if (!*more) return false;
  }
}

// Calls `on_element(value, text)` for each element of the top-level JSON array (`text`: the
// element as written, leading whitespace skipped), parsing one element at
// a time into a reused arena: peak memory stays at one record's DOM, not the whole file's.
template <class OnElement>
boost::system::result<void> for_each_element(detail::TextStream& in, const LoadLimits& limits, LoadReport& report,
                                             OnElement&& on_element) {
  auto fail = [&](LoadError error, std::size_t pos, std::string_view what) {
    report.error_detail = std::string(what) + " at byte " + std::to_string(pos);
    return boost::system::result<void>(error);
  };
  // Reads the next significant character, or fails with `what` at the end of the text.
  auto next_char = [&](std::string_view what) -> boost::system::result<char> {
    auto found = skip_space(in);
    if (!found) return found.error();
    if (!*found) {
      report.error_detail = std::string(what) + " at byte " + std::to_string(in.offset());
      return LoadError::invalid_json;
    }
    return in.window()[0];
  };

  auto first = next_char("empty input");
  if (!first) return first.error();
  if (*first != '[') {
    // Valid JSON that is not an array is a different failure from garbage.
    std::string text(in.window());
    while (true) {
      in.consume(in.window().size());
      auto more = in.fill();
      if (!more) return more.error();
      if (!*more) break;
      text.append(in.window());
    }
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = limits.max_depth;
    json::parse(text, ec, {}, options);
    return fail(ec ? LoadError::invalid_json : LoadError::not_an_array, 0,
                ec ? "invalid JSON" : "top level is not an array");
  }
  in.consume(1);

  json::parse_options options;
  options.max_depth = limits.max_depth;
  unsigned char parser_stack[4096];
  json::parser parser({}, options, parser_stack, sizeof parser_stack);
  constexpr std::size_t kArenaSize = 64u << 10;
  std::unique_ptr<unsigned char[]> arena_buffer(new unsigned char[kArenaSize]);
  bool first_element = true;
  for (;;) {
    auto c = next_char("unterminated array");
    if (!c) return c.error();
    if (*c == ']' && first_element) break;
    first_element = false;
    {
      json::monotonic_resource arena(arena_buffer.get(), kArenaSize);
      std::size_t used = 0;
      boost::system::error_code ec;
      for (;;) {
        const std::string_view w = in.window();
        parser.reset(&arena);
        ec = {};
        used = parser.write_some(w.data(), w.size(), ec);
        // An element cut by the window's end (or one that ends exactly there, which may be
        // a number with more digits to come) is parsed again once more text is in.
        const bool maybe_cut = ec == json::error::incomplete || (!ec && used == w.size());
        if (!maybe_cut || in.exhausted()) break;
        auto more = in.fill();
        if (!more) return more.error();
      }
      if (ec) {
        if (ec == json::error::too_deep) return fail(LoadError::too_deep, in.offset() + used, "nesting too deep");
        return fail(LoadError::invalid_json, in.offset() + used,
                    ec == json::error::incomplete ? "unterminated value" : "invalid JSON");
      }
      ++report.elements;
      on_element(parser.release(), in.window().substr(0, used));
      in.consume(used);
    }
    auto separator = next_char("unterminated array");
    if (!separator) return separator.error();
    if (*separator == ']') break;
    if (*separator != ',') return fail(LoadError::invalid_json, in.offset(), "expected ',' or ']'");
    in.consume(1);
  }
  in.consume(1);  // the closing ']'
  auto trailing = skip_space(in);
  if (!trailing) return trailing.error();
  if (*trailing) return fail(LoadError::invalid_json, in.offset(), "unexpected text after the array");
  return {};
}

template <class Record, class Parse>
boost::system::result<std::vector<Record>> load_records(std::string_view bytes, RecordKind kind, LoadReport& report,
                                                        const LoadLimits& limits, Parse&& parse) {
  detail::TextStream text(bytes, limits, report);
  std::vector<Record> records;
  boost::unordered_flat_map<RecordId, std::size_t> position_by_id;
  FieldSink sink(report, kind);
  auto status = for_each_element(text, limits, report, [&](const json::value& element, std::string_view) {
    if (!element.is_object()) {
      ++report.skipped_not_object;
      report.add_problem(kind, 0, "", "array element is not an object");
      return;
    }
    std::optional<Record> record = parse(element.get_object(), sink);
    if (!record) {
      ++report.skipped_bad_id;
      return;
    }
    // Once the average record size is known, reserve for the whole file: regrowing a
    // vector of a million records copies it several times over.
    if (records.size() == 1024 && text.offset() > 0) {
      const std::size_t hint = std::min(text.size_hint(), limits.max_json_bytes);
      // The trailer is untrusted input: cap what it can make us reserve.
      constexpr std::size_t kMaxReserved = std::size_t{16} << 20;
      const std::size_t expected = std::min(kMaxReserved, hint / text.offset() * 1024 * 9 / 8);
      if (expected > records.size()) {
        records.reserve(expected);
        position_by_id.reserve(expected);
      }
    }
    auto [it, inserted] = position_by_id.try_emplace(record->id, records.size());
    if (inserted) {
      records.push_back(std::move(*record));
    } else {
      ++report.duplicate_ids;
      report.add_problem(kind, record->id, "", "duplicate id: the later record replaces the earlier one");
      records[it->second] = std::move(*record);
    }
  });
  if (!status) return status.error();
  report.loaded = records.size();
  return records;
}

}  // namespace

const boost::system::error_category& load_error_category() noexcept {
  static const LoadErrorCategory category;
  return category;
}

boost::system::error_code make_error_code(LoadError e) noexcept {
  return {static_cast<int>(e), load_error_category()};
}

std::string_view to_string(RecordKind kind) noexcept {
  return kind == RecordKind::offer ? "offer" : "campaign";
}

void LoadReport::add_problem(RecordKind kind, RecordId id, std::string_view field, std::string_view reason) {
  ++malformed_fields;
  if (problems.size() < kMaxProblemsKept) problems.push_back({kind, id, std::string(field), std::string(reason)});
}

boost::system::result<std::vector<Offer>> load_offers(std::string_view bytes, LoadReport& report,
                                                      const LoadLimits& limits) {
  return load_records<Offer>(
      bytes, RecordKind::offer, report, limits,
      [&](const json::object& object, FieldSink& sink) { return detail::parse_offer(object, sink, limits.max_depth); });
}

boost::system::result<std::vector<Campaign>> load_campaigns(std::string_view bytes, LoadReport& report,
                                                            const LoadLimits& limits) {
  return load_records<Campaign>(bytes, RecordKind::campaign, report, limits,
                                [&](const json::object& object, FieldSink& sink) {
                                  return detail::parse_campaign(object, sink, limits.max_depth);
                                });
}

boost::system::result<void> for_each_record_json(std::string_view bytes, RecordKind kind, LoadReport& report,
                                                 const std::function<void(RecordId, std::string_view)>& on_record,
                                                 const LoadLimits& limits) {
  detail::TextStream text(bytes, limits, report);
  FieldSink sink(report, kind);
  const std::string_view id_key = kind == RecordKind::offer ? "offerId" : "campaignId";
  std::string compact;
  return for_each_element(text, limits, report, [&](const json::value& element, std::string_view written) {
    const json::object* object = element.if_object();
    if (object == nullptr) {
      ++report.skipped_not_object;
      return;
    }
    const json::value* id_value = object->if_contains(id_key);
    const auto id = id_value ? detail::read_id(*id_value, id_key, sink) : std::nullopt;
    if (!id || *id <= 0) {
      ++report.skipped_bad_id;
      return;
    }
    ++report.loaded;
    // The element's own text without the whitespace between tokens: numbers keep the
    // digits the producer wrote (re-serialising would turn 1.50 into 1.5E0).
    compact.clear();
    bool in_string = false;
    for (std::size_t i = 0; i < written.size(); ++i) {
      const char c = written[i];
      if (in_string) {
        compact.push_back(c);
        if (c == '\\' && i + 1 < written.size()) {
          compact.push_back(written[++i]);
        } else if (c == '"') {
          in_string = false;
        }
      } else if (!is_space(c)) {
        compact.push_back(c);
        in_string = c == '"';
      }
    }
    on_record(*id, compact);
  });
}

boost::system::result<RecordUpdate> parse_update(std::string_view message, LoadReport& report,
                                                 const LoadLimits& limits) {
  auto fail = [&](std::string_view why) {
    report.error_detail = std::string(why);
    return boost::system::result<RecordUpdate>(LoadError::invalid_update);
  };
  json::parse_options options;
  options.max_depth = limits.max_depth;
  boost::system::error_code ec;
  json::value parsed = json::parse(message, ec, {}, options);
  if (ec || !parsed.is_object()) return fail("update is not a JSON object");
  const json::object& object = parsed.get_object();

  RecordUpdate update;
  const json::value* type = object.if_contains("type");
  if (type && type->is_string() && type->get_string() == "offer") {
    update.kind = RecordKind::offer;
  } else if (type && type->is_string() && type->get_string() == "campaign") {
    update.kind = RecordKind::campaign;
  } else {
    return fail("type must be \"offer\" or \"campaign\"");
  }
  FieldSink sink(report, update.kind);
  const json::value* id = object.if_contains("id");
  auto parsed_id = id ? detail::read_id(*id, "id", sink) : std::nullopt;
  if (!parsed_id || *parsed_id <= 0) return fail("id must be a positive integer");
  update.id = *parsed_id;
  sink.set_id(update.id);

  const json::value* action = object.if_contains("action");
  if (action && action->is_string() && action->get_string() == "updateOrCreate") {
    update.action = UpdateAction::update_or_create;
  } else if (action && action->is_string() && action->get_string() == "delete") {
    update.action = UpdateAction::remove;
  } else {
    return fail("action must be \"updateOrCreate\" or \"delete\"");
  }

  const json::value* timestamp = object.if_contains("timestamp");
  auto at = timestamp ? detail::read_time(*timestamp, "timestamp", sink) : std::nullopt;
  if (!at) return fail("timestamp must be epoch milliseconds or ISO-8601");
  update.timestamp = *at;

  if (update.action == UpdateAction::remove) return update;
  const json::value* body = object.if_contains("body");
  auto record = body ? detail::read_embedded_json(*body, "body", sink, limits.max_depth) : std::nullopt;
  if (!record || !record->is_object()) return fail("body must be a record object (or a string holding one)");
  if (update.kind == RecordKind::offer) {
    auto offer = detail::parse_offer(record->get_object(), sink, limits.max_depth);
    if (!offer || offer->id != update.id) return fail("body.offerId must equal id");
    update.offer = std::make_shared<const Offer>(std::move(*offer));
  } else {
    auto campaign = detail::parse_campaign(record->get_object(), sink, limits.max_depth);
    if (!campaign || campaign->id != update.id) return fail("body.campaignId must equal id");
    update.campaign = std::make_shared<const Campaign>(std::move(*campaign));
  }
  return update;
}

}  // namespace traffic::recipe
