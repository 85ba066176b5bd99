#include "traffic/source/redis_mirror.hpp"

#include <boost/json.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <charconv>
#include <functional>
#include <vector>

namespace traffic::source {

namespace {

using recipe::RecordId;
using recipe::RecordKind;

// A SCAN pattern matching `prefix` literally, then anything.
std::string literal_pattern(std::string_view prefix) {
  std::string out;
  for (const char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('*');
  return out;
}

// The id of `<key prefix><digits>`; nullopt for any other key (`offer:12:notes` belongs to
// someone else and is never touched).
std::optional<RecordId> record_id(std::string_view key, std::string_view key_prefix) {
  if (!key.starts_with(key_prefix)) return std::nullopt;
  key.remove_prefix(key_prefix.size());
  RecordId id = 0;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
  if (ec != std::errc() || end != key.data() + key.size() || key.empty() || key[0] == '0' || id <= 0) {
    return std::nullopt;
  }
  return id;
}

std::uint64_t fingerprint(std::string_view text) noexcept {
  return std::hash<std::string_view>{}(text);
}

}  // namespace

struct RedisMirror::Kind {
  Kind(RecordKind k, const std::string& prefix)
      : kind(k), key_prefix(prefix + std::string(recipe::to_string(k)) + ":"), pattern(literal_pattern(key_prefix)) {}

  RecordKind kind;
  std::string key_prefix;  // "<prefix>offer:"
  std::string pattern;     // for SCAN
  // A fingerprint of each record's JSON as this instance last wrote it. Emptied when a write
  // fails, so the next one writes everything again.
  boost::unordered_flat_map<RecordId, std::uint64_t> written;
};

RedisMirror::RedisMirror(RedisMirrorSettings settings)
    : settings_(std::move(settings)),
      connection_(settings_.endpoint),
      offers_(std::make_unique<Kind>(RecordKind::offer, settings_.key_prefix)),
      campaigns_(std::make_unique<Kind>(RecordKind::campaign, settings_.key_prefix)) {
  if (settings_.batch == 0) settings_.batch = 1;
}

RedisMirror::~RedisMirror() = default;

bool RedisMirror::flush(std::string& error) {
  if (const Result<> exchanged = connection_.execute(replies_); !exchanged) {
    error = "Redis at " + exchanged.error().detail;
    return false;
  }
  for (const redis::Reply& reply : replies_) {
    if (reply.is_error()) {
      error = "Redis at " + settings_.endpoint.address() + " answered: " + reply.text;
      return false;
    }
  }
  return true;
}

Result<> RedisMirror::write(std::string_view offers_file, std::string_view campaigns_file) {
  last_write_ = {};
  std::string error = write_kind(*offers_, offers_file);
  if (error.empty()) error = write_kind(*campaigns_, campaigns_file);
  if (!error.empty()) return Failure(Errc::unavailable, std::move(error));
  return {};
}

std::string RedisMirror::write_kind(Kind& kind, std::string_view file) {
  std::string error;
  boost::unordered_flat_map<RecordId, std::uint64_t> current;
  std::string key;
  // SETs the records `wanted` says to, in batches; "" or why not.
  auto set_records = [&](const std::function<bool(RecordId, std::uint64_t)>& wanted) {
    recipe::LoadReport report;
    auto parsed = recipe::for_each_record_json(file, kind.kind, report, [&](RecordId id, std::string_view json) {
      if (!error.empty()) return;
      const std::uint64_t print = fingerprint(json);
      current.insert_or_assign(id, print);
      if (!wanted(id, print)) {
        ++last_write_.unchanged;
        return;
      }
      key.assign(kind.key_prefix).append(std::to_string(id));
      connection_.append({"SET", key, json});
      ++last_write_.written;
      if (connection_.queued() >= settings_.batch) flush(error);
    });
    if (!parsed && error.empty()) error = std::string(recipe::to_string(kind.kind)) + "s: " + parsed.error().message();
    if (error.empty() && connection_.queued() > 0) flush(error);
  };

  set_records([&](RecordId id, std::uint64_t print) {
    const auto it = kind.written.find(id);
    return it == kind.written.end() || it->second != print;
  });

  // Then the keys of records that are gone; and records missing from Redis (deleted by
  // someone else, or by an instance still on an older recipe) are noticed on the way.
  boost::unordered_flat_set<RecordId> present;
  std::vector<std::string> gone;
  std::string cursor = "0";
  while (error.empty()) {
    connection_.append({"SCAN", cursor, "MATCH", kind.pattern, "COUNT", "1000"});
    if (!flush(error)) break;
    const redis::Reply& reply = replies_.front();
    if (reply.type != redis::Reply::Type::array || reply.elements.size() != 2) {
      error = "unexpected SCAN reply";
      break;
    }
    for (const redis::Reply& k : reply.elements[1].elements) {
      const auto id = record_id(k.text, kind.key_prefix);
      if (!id) continue;
      if (current.contains(*id)) {
        present.insert(*id);
      } else {
        gone.push_back(k.text);
      }
    }
    cursor = reply.elements[0].text;
    if (cursor == "0") break;
  }
  for (std::size_t i = 0; i < gone.size() && error.empty(); i += settings_.batch) {
    std::vector<std::string_view> command{"DEL"};
    for (std::size_t j = i; j < std::min(gone.size(), i + settings_.batch); ++j) command.emplace_back(gone[j]);
    connection_.append(command);
    if (flush(error)) last_write_.removed += command.size() - 1;
  }
  if (error.empty() && present.size() < current.size()) {
    const std::size_t unchanged = last_write_.unchanged;
    set_records([&](RecordId id, std::uint64_t) { return !present.contains(id); });
    last_write_.unchanged = unchanged - (current.size() - present.size());
  }

  if (!error.empty()) {
    kind.written.clear();
    return error;
  }
  kind.written = std::move(current);
  return {};
}

Result<std::pair<std::string, std::string>> RedisMirror::read() {
  std::string offers;
  std::string campaigns;
  std::size_t skipped = 0;
  std::string error = read_kind(*offers_, offers, skipped);
  if (error.empty()) error = read_kind(*campaigns_, campaigns, skipped);
  if (!error.empty()) return Failure(Errc::unavailable, std::move(error));
  if (offers == "[]") {
    error = "no offers in the Redis mirror at " + settings_.endpoint.address();
    if (skipped > 0) error += " (" + std::to_string(skipped) + " values not JSON)";
    return Failure(Errc::invalid_input, std::move(error));
  }
  return std::pair{std::move(offers), std::move(campaigns)};
}

std::string RedisMirror::read_kind(Kind& kind, std::string& array, std::size_t& skipped) {
  std::string error;
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    connection_.append({"SCAN", cursor, "MATCH", kind.pattern, "COUNT", "1000"});
    if (!flush(error)) return error;
    const redis::Reply& reply = replies_.front();
    if (reply.type != redis::Reply::Type::array || reply.elements.size() != 2) return "unexpected SCAN reply";
    for (const redis::Reply& k : reply.elements[1].elements) {
      if (record_id(k.text, kind.key_prefix)) keys.push_back(k.text);
    }
    cursor = reply.elements[0].text;
  } while (cursor != "0");

  array = "[";
  boost::json::parse_options options;
  options.max_depth = recipe::LoadLimits{}.max_depth;
  for (std::size_t i = 0; i < keys.size(); i += settings_.batch) {
    std::vector<std::string_view> command{"MGET"};
    for (std::size_t j = i; j < std::min(keys.size(), i + settings_.batch); ++j) command.emplace_back(keys[j]);
    connection_.append(command);
    if (!flush(error)) return error;
    for (const redis::Reply& value : replies_.front().elements) {
      if (value.type != redis::Reply::Type::string) continue;  // deleted since the SCAN
      boost::system::error_code ec;
      boost::json::parse(value.text, ec, {}, options);
      if (ec) {
        ++skipped;
        continue;
      }
      if (array.size() > 1) array.push_back(',');
      array.append(value.text);
    }
  }
  array.push_back(']');
  return {};
}

}  // namespace traffic::source
