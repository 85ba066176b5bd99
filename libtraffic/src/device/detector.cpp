#include "traffic/device/detector.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <re2/filtered_re2.h>
#include <re2/re2.h>
#include <re2/set.h>
#include <yaml-cpp/yaml.h>

#include <boost/unordered/unordered_flat_map.hpp>

#include <array>
#include <atomic>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <vector>

namespace traffic::device {
namespace {

// One uap-core parser: its regex and the replacement templates of its section, in the
// order of the fields it fills (UA: family, major, minor, patch; OS: family, major, minor,
// patch, patch_minor; device: family, brand, model).
struct Parser {
  std::array<std::optional<std::string>, 5> replacements;
  std::shared_ptr<pcre2_code> pcre2;  // the same regex for PCRE2 (JIT); null if it did not compile
};

// uap-core's defaults: which capture group fills a field that has no replacement
// (0 = none: the field stays empty).
struct SectionRules {
  const char* name;
  std::array<const char*, 5> replacement_keys;
  std::array<int, 5> default_groups;
};

constexpr SectionRules kUserAgent{"user_agent_parsers",
                                  {"family_replacement", "v1_replacement", "v2_replacement", "v3_replacement", nullptr},
                                  {1, 2, 3, 4, 0}};
constexpr SectionRules kOs{
    "os_parsers",
    {"os_replacement", "os_v1_replacement", "os_v2_replacement", "os_v3_replacement", "os_v4_replacement"},
    {1, 2, 3, 4, 5}};
constexpr SectionRules kDevice{"device_parsers",
                               {"device_replacement", "brand_replacement", "model_replacement", nullptr, nullptr},
                               {1, 0, 1, 0, 0}};

constexpr int kMaxGroups = 9;
using Groups = std::array<std::string_view, kMaxGroups + 1>;

// PCRE2's JIT runs one uap-core regex over an agent in ~0.1 µs; RE2 needs a forward DFA, a
// reverse DFA and a backtracker for the capture groups (~1 µs per section: ~1,200 regexes,
// each with DFA states of its own, mostly cold). So the capture groups, and the candidates
// a prefilter admits, are matched with PCRE2. It backtracks, so its work is bounded
// (kPcre2MatchLimit, far above what a real agent needs); a regex that hits the bound is
// matched by RE2 instead, in linear time. uap-core's regexes are written for backtracking
// engines; the conformance tests run through this code.
constexpr std::uint32_t kPcre2MatchLimit = 20'000;

struct Pcre2MatchData {
  pcre2_match_data* data = pcre2_match_data_create(kMaxGroups + 1, nullptr);
  Pcre2MatchData() = default;
  Pcre2MatchData(const Pcre2MatchData&) = delete;
  Pcre2MatchData& operator=(const Pcre2MatchData&) = delete;
  ~Pcre2MatchData() { pcre2_match_data_free(data); }
};

// One match context for every thread: set once, then only read by pcre2_match.
pcre2_match_context* match_context() {
  static pcre2_match_context* const context = [] {
    pcre2_match_context* c = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(c, kPcre2MatchLimit);
    pcre2_set_depth_limit(c, kPcre2MatchLimit);
    return c;
  }();
  return context;
}

std::shared_ptr<pcre2_code> compile_pcre2(const std::string& pattern, bool caseless) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   caseless ? PCRE2_CASELESS : 0U, &error, &offset, nullptr);
  if (code == nullptr) return nullptr;
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT, pcre2_match interprets
  return {code, pcre2_code_free};
}

// How a section finds its first matching regex (trying 600 regexes in turn costs ~50 µs,
// even with PCRE2's JIT):
//  - all_regexes: one RE2::Set over every regex of the section, the lowest matching index;
//  - prefiltered: RE2's FilteredRE2 computes the literal "atoms" each regex requires; a
//    small RE2::Set of those literals finds the atoms in the lower-cased agent, and only
//    the regexes they admit run, in order.
// Which is faster depends on the section (docs/benchmarks.md).
enum class Strategy { all_regexes, prefiltered };

// A section of regexes.yaml; uap-core semantics are "the first parser whose regex matches".
class Section {
 public:
  Section(const YAML::Node& root, const SectionRules& rules, Strategy strategy, const std::string& path)
      : rules_(rules), strategy_(strategy), filter_(kMinAtomLength) {
    const YAML::Node list = root[rules.name];
    if (!list || !list.IsSequence()) throw std::runtime_error(path + ": no '" + rules.name + "' list");
    RE2::Options options;
    options.set_log_errors(false);
    // User agents are matched byte by byte (regexes.yaml is ASCII, and PCRE2 reads bytes
    // too): UTF-8 decoding multiplies the automaton's states for `(?i)` and `.`, and an
    // agent with invalid UTF-8 is still matched.
    options.set_encoding(RE2::Options::EncodingLatin1);
    RE2::Options set_options = options;
    // The device section's DFA is large; with less memory RE2::Set refuses to compile it.
    set_options.set_max_mem(std::int64_t{512} << 20);
    all_ = std::make_unique<RE2::Set>(set_options, RE2::UNANCHORED);
    for (const auto& node : list) {
      const std::string source = node["regex"].as<std::string>();
      const bool caseless = node["regex_flag"] && node["regex_flag"].as<std::string>() == "i";
      const std::string pattern = caseless ? "(?i)" + source : source;
      int id = 0;
      if (filter_.Add(pattern, options, &id) != RE2::NoError || id != static_cast<int>(parsers_.size())) {
        throw std::runtime_error(path + ": a regex of " + rules.name + " does not compile with RE2: " + pattern);
      }
      std::string error;
      if (strategy == Strategy::all_regexes && all_->Add(pattern, &error) < 0) {
        throw std::runtime_error(path + ": " + error);
      }
      Parser parser;
      parser.pcre2 = compile_pcre2(source, caseless);
      for (std::size_t i = 0; i < rules.replacement_keys.size(); ++i) {
        if (rules.replacement_keys[i] && node[rules.replacement_keys[i]]) {
          parser.replacements[i] = node[rules.replacement_keys[i]].as<std::string>();
        }
      }
      parsers_.push_back(std::move(parser));
    }
    if (parsers_.empty()) throw std::runtime_error(path + ": '" + rules.name + "' is empty");
    std::vector<std::string> atoms;
    filter_.Compile(&atoms);
    RE2::Options atom_options;
    atom_options.set_log_errors(false);
    atom_options.set_encoding(RE2::Options::EncodingLatin1);
    atom_options.set_max_mem(std::int64_t{64} << 20);
    atoms_ = std::make_unique<RE2::Set>(atom_options, RE2::UNANCHORED);
    for (const auto& atom : atoms) {
      std::string error;
      if (atoms_->Add(RE2::QuoteMeta(atom), &error) < 0) throw std::runtime_error(path + ": " + error);
    }
    atoms_compiled_ = !atoms.empty() && atoms_->Compile();
    all_compiled_ = strategy == Strategy::all_regexes && all_->Compile();
  }

  // Fills `fields` from the first parser that matches; false when none does. `lowered`
  // is `text` in ASCII lower case (for the prefilter's atoms).
  bool match(std::string_view text, std::string_view lowered, std::array<std::string, 5>& fields) const {
    Groups groups;
    const int id = first_match(text, lowered, groups);
    if (id < 0) return false;
    const Parser& parser = parsers_[static_cast<std::size_t>(id)];
    const int count = group_count(id);
    for (std::size_t i = 0; i < fields.size(); ++i) {
      if (parser.replacements[i]) {
        fields[i] = substitute(*parser.replacements[i], groups, count);
      } else if (const int g = rules_.default_groups[i]; g > 0 && g <= count) {
        fields[i] = std::string(groups[static_cast<std::size_t>(g)]);
      } else {
        fields[i].clear();
      }
      trim(fields[i]);
    }
    return true;
  }

 private:
  static constexpr int kMinAtomLength = 3;

  int group_count(int id) const { return std::min(filter_.GetRE2(id).NumberOfCapturingGroups(), kMaxGroups); }

  // The index of the first regex that matches (its groups in `groups`), or -1.
  int first_match(std::string_view text, std::string_view lowered, Groups& groups) const {
    const re2::StringPiece piece(text.data(), text.size());
    thread_local std::vector<int> matches;
    thread_local std::vector<int> candidates;
    RE2::Set::ErrorInfo info;
    int id = -1;
    if (strategy_ == Strategy::all_regexes && all_compiled_) {
      if (all_->Match(piece, &matches, &info)) {
        id = *std::min_element(matches.begin(), matches.end());
      } else if (info.kind == RE2::Set::kNoError) {
        return -1;
      } else {
        id = filter_.SlowFirstMatch(piece);  // the DFA ran out of memory: try every regex
      }
    } else if (!atoms_compiled_ || (!atoms_->Match(re2::StringPiece(lowered.data(), lowered.size()), &matches, &info) &&
                                    info.kind != RE2::Set::kNoError)) {
      id = filter_.SlowFirstMatch(piece);
    } else {
      // The prefilter's candidates, in order: PCRE2 decides, RE2 where PCRE2 gives up.
      filter_.AllPotentials(matches, &candidates);
      std::sort(candidates.begin(), candidates.end());
      for (const int candidate : candidates) {
        const Pcre2Outcome outcome = pcre2_groups(candidate, text, groups);
        if (outcome == Pcre2Outcome::matched) return candidate;
        if (outcome == Pcre2Outcome::gave_up && re2_groups(candidate, text, groups)) return candidate;
      }
      return -1;
    }
    // RE2 chose `id`; PCRE2 only reads its groups (RE2 does if PCRE2 cannot).
    if (id < 0) return -1;
    return pcre2_groups(id, text, groups) == Pcre2Outcome::matched || re2_groups(id, text, groups) ? id : -1;
  }

  enum class Pcre2Outcome { matched, no_match, gave_up };

  // Regex `id` over `text` with PCRE2, its capture groups in `groups` (a group that took no
  // part is empty). gave_up: the backtracking bound was reached, or the regex is not
  // PCRE2's to run (it did not compile).
  Pcre2Outcome pcre2_groups(int id, std::string_view text, Groups& groups) const {
    const auto& code = parsers_[static_cast<std::size_t>(id)].pcre2;
    if (!code) return Pcre2Outcome::gave_up;
    thread_local Pcre2MatchData match;
    const int rc = pcre2_match(code.get(), reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), 0, 0, match.data,
                               match_context());
    if (rc == PCRE2_ERROR_NOMATCH) return Pcre2Outcome::no_match;
    if (rc <= 0) return Pcre2Outcome::gave_up;
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match.data);
    const auto groups_of_regex = static_cast<std::size_t>(group_count(id));
    const auto groups_matched = static_cast<std::size_t>(rc);
    for (std::size_t g = 0; g <= groups_of_regex; ++g) {
      const PCRE2_SIZE start = ovector[2 * g];
      groups[g] = g < groups_matched && start != PCRE2_UNSET ? text.substr(start, ovector[2 * g + 1] - start)
                                                             : std::string_view();
    }
    return Pcre2Outcome::matched;
  }

  // The same with RE2, in linear time; false when the regex does not match.
  bool re2_groups(int id, std::string_view text, Groups& groups) const {
    const int count = group_count(id);
    std::array<re2::StringPiece, kMaxGroups + 1> pieces;
    if (!filter_.GetRE2(id).Match(re2::StringPiece(text.data(), text.size()), 0, text.size(), RE2::UNANCHORED,
                                  pieces.data(), count + 1)) {
      return false;
    }
    for (int g = 0; g <= count; ++g) {
      const auto& p = pieces[static_cast<std::size_t>(g)];
      groups[static_cast<std::size_t>(g)] = std::string_view(p.data(), p.size());
    }
    return true;
  }

  // "$1 for ArcGIS": every $N replaced by group N (empty when the group did not take part).
  static std::string substitute(const std::string& pattern, const Groups& groups, int count) {
    std::string out;
    out.reserve(pattern.size() + 16);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == '$' && i + 1 < pattern.size() && pattern[i + 1] >= '1' && pattern[i + 1] <= '9') {
        const int g = pattern[i + 1] - '0';
        if (g <= count) out.append(groups[static_cast<std::size_t>(g)]);
        ++i;
      } else {
        out += pattern[i];
      }
    }
    return out;
  }

  static void trim(std::string& s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string::npos) {
      s.clear();
      return;
    }
    s.erase(s.find_last_not_of(" \t") + 1);
    s.erase(0, first);
  }

  const SectionRules& rules_;
  Strategy strategy_;
  re2::FilteredRE2 filter_;  // owns the compiled regexes (captures come from GetRE2)
  std::vector<Parser> parsers_;
  std::unique_ptr<RE2::Set> atoms_;
  std::unique_ptr<RE2::Set> all_;
  bool atoms_compiled_ = false;
  bool all_compiled_ = false;
};

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string engine_of(std::string_view ua, const DeviceInfo& info) {
  if (contains(ua, "Trident/")) return "Trident";
  if (contains(ua, "Edge/")) return "EdgeHTML";
  if (contains(ua, "Presto/")) return "Presto";
  if (contains(ua, "AppleWebKit/")) {
    // Every browser on iOS is WebKit, whatever its name; elsewhere Chromium's fork is Blink.
    if (info.os_family == "iOS" || info.os_family == "iPadOS") return "WebKit";
    if (contains(ua, "Chrome/") || contains(ua, "Chromium/") || contains(ua, "CrMo/")) return "Blink";
    return "WebKit";
  }
  if (contains(ua, "Gecko/") || contains(ua, "Firefox/")) return "Gecko";
  return {};
}

// uap-core names devices; an ad network books them by type. The order matters: a bot
// that claims to be an iPhone is a bot, a watch running Android is a watch.
DeviceType type_of(std::string_view ua, std::string_view lowered, const DeviceInfo& info) {
  const std::string& family = info.device_family;
  const std::string& os = info.os_family;
  if (info.is_bot) return DeviceType::bot;
  if (contains(family, "Watch") || (os == "watchOS" || os == "WatchOS") || contains(os, "Wear OS") ||
      contains(lowered, "wearos")) {
    return DeviceType::wearable;
  }
  if (contains(family, "PlayStation") || contains(family, "Xbox") || contains(family, "Nintendo") ||
      contains(ua, "PlayStation") || contains(ua, "Xbox") || contains(ua, "Nintendo")) {
    return DeviceType::console;
  }
  if (os == "tvOS" || contains(family, "AppleTV") || contains(lowered, "smart-tv") || contains(lowered, "smarttv") ||
      contains(lowered, "smart tv") || contains(ua, "HbbTV") || contains(ua, "CrKey") || contains(ua, "Roku") ||
      contains(ua, "BRAVIA") || contains(ua, "GoogleTV") || contains(ua, "AFTB") || contains(ua, "AFTS") ||
      contains(ua, "AFTM") || (contains(ua, "Tizen") && contains(ua, "TV")) || contains(ua, "Web0S")) {
    return DeviceType::tv;
  }
  if (contains(ua, "Tesla/")) return DeviceType::car;
  if (contains(family, "iPad") || contains(family, "Kindle") || contains(family, "Tablet") ||
      contains(lowered, "tablet") || contains(ua, "Silk/") || (os == "Android" && !contains(ua, "Mobile"))) {
    return os == "Android" && contains(ua, "Mobile") ? DeviceType::smartphone : DeviceType::tablet;
  }
  // Feature phones say "Mobile" too, so they are recognised before smartphones.
  if (os == "KaiOS" || contains(os, "Symbian") || contains(os, "Series 40") || contains(ua, "MIDP") ||
      contains(ua, "UP.Browser") || contains(ua, "J2ME")) {
    return DeviceType::feature_phone;
  }
  if (family == "iPhone" || family == "iPod" || contains(family, "iPhone") || os == "iOS" || os == "Android" ||
      contains(os, "Windows Phone") || os == "BlackBerry OS" || os == "Firefox OS" || os == "Sailfish" ||
      os == "Ubuntu Touch" || os == "HarmonyOS" || (contains(ua, "Mobile") && contains(ua, "Mozilla/5.0"))) {
    return DeviceType::smartphone;
  }
  if (contains(os, "Windows") || os == "Mac OS X" || os == "macOS" || os == "Linux" || os == "Ubuntu" ||
      os == "Chrome OS" || os == "Fedora" || os == "Debian" || contains(os, "BSD") || os == "Mint" || os == "Solaris" ||
      family == "Mac") {
    return DeviceType::desktop;
  }
  return DeviceType::unknown;
}

bool is_bot(std::string_view lowered, const DeviceInfo& info) {
  if (info.device_family == "Spider") return true;
  for (std::string_view marker :
       {"bot", "crawler", "spider", "slurp", "headlesschrome", "lighthouse", "python-requests", "curl/", "wget/",
        "httpclient", "go-http-client", "java/", "scrapy", "phantomjs"}) {
    if (contains(lowered, marker)) return true;
  }
  return false;
}

// One shard of the result cache: a hash map plus a FIFO ring that bounds it.
// Lets the cache find a std::string key from a string_view without building a string:
// cache hits are on the click path and must not allocate.
// An agent with its hash, computed once per lookup: it picks the shard and is the map's
// hash too (hashing a 100-byte agent twice showed in profiles).
struct HashedAgent {
  std::string_view text;
  std::size_t hash;
};

struct TransparentHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  std::size_t operator()(const HashedAgent& agent) const noexcept { return agent.hash; }
};

struct TransparentEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
  bool operator()(const HashedAgent& a, std::string_view b) const noexcept { return a.text == b; }
  bool operator()(std::string_view a, const HashedAgent& b) const noexcept { return a == b.text; }
};

struct CacheShard {
  std::mutex mutex;
  boost::unordered_flat_map<std::string, std::shared_ptr<const DeviceInfo>, TransparentHash, TransparentEqual> entries;
  std::vector<std::string> ring;  // insertion order; the oldest is evicted
  std::size_t next = 0;
  // Counted under the mutex, read without it: one shared counter for every thread's hits
  // would be a cache line bouncing between cores on every click.
  std::atomic<std::uint64_t> hits{0};
  void count_hit() noexcept { hits.store(hits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
};

constexpr std::size_t kShards = 16;
// Regexes match the first 512 bytes of an agent. Real agents are shorter (the longest of
// uap-core's 43,000 test agents has 492 bytes; ua-parser-js cuts at 500); an 8 KB agent
// crafted to make the regexes work hard costs at most ~0.2 ms instead of several.
constexpr std::size_t kMaxMatchedLength = 512;
// Longer user agents are parsed but not cached: they are not real browsers', and would let
// one client fill the cache with large keys. So the cache holds at most capacity × (512
// bytes of key + one DeviceInfo, ~0.5 KB): ~64 MB at the default 65,536 entries.
constexpr std::size_t kMaxCachedLength = kMaxMatchedLength;

}  // namespace

struct DeviceDetector::Impl {
  std::unique_ptr<Section> user_agent;
  std::unique_ptr<Section> os;
  std::unique_ptr<Section> device;
  std::size_t shard_capacity = 0;
  std::array<CacheShard, kShards> shards;
  std::atomic<std::uint64_t> misses{0};  // each costs a parse; the count's own cost is noise
};

std::string_view to_string(DeviceType type) noexcept {
  switch (type) {
    case DeviceType::unknown: return "unknown";
    case DeviceType::desktop: return "desktop";
    case DeviceType::smartphone: return "smartphone";
    case DeviceType::tablet: return "tablet";
    case DeviceType::feature_phone: return "feature phone";
    case DeviceType::tv: return "tv";
    case DeviceType::console: return "console";
    case DeviceType::wearable: return "wearable";
    case DeviceType::car: return "car";
    case DeviceType::bot: return "bot";
  }
  return "unknown";
}

namespace {
std::string join_version(const std::string& major, const std::string& minor) {
  if (major.empty()) return {};
  return minor.empty() ? major : major + "." + minor;
}
}  // namespace

std::string DeviceInfo::browser_version() const {
  return join_version(browser_major, browser_minor);
}
std::string DeviceInfo::os_version() const {
  return join_version(os_major, os_minor);
}

DeviceDetector::DeviceDetector(const std::string& regexes_path, std::size_t cache_capacity)
    : impl_(std::make_unique<Impl>()) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(regexes_path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("UA_REGEXES_PATH=" + regexes_path + ": " + e.what());
  }
  try {
    impl_->user_agent = std::make_unique<Section>(root, kUserAgent, Strategy::prefiltered, regexes_path);
    impl_->os = std::make_unique<Section>(root, kOs, Strategy::all_regexes, regexes_path);
    impl_->device = std::make_unique<Section>(root, kDevice, Strategy::prefiltered, regexes_path);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error("UA_REGEXES_PATH=" + regexes_path + ": not a uap-core regex file: " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(std::string("UA_REGEXES_PATH=") + e.what());
  }
  impl_->shard_capacity = cache_capacity / kShards;
}

DeviceDetector::~DeviceDetector() = default;

DeviceInfo DeviceDetector::parse(std::string_view full_ua) const {
  DeviceInfo info;
  // Everything below reads the first kMaxMatchedLength bytes of the agent.
  const std::string_view ua = full_ua.substr(0, kMaxMatchedLength);
  std::string lowered(ua);
  for (char& c : lowered) c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  std::array<std::string, 5> fields;
  if (impl_->user_agent->match(ua, lowered, fields)) {
    info.browser_family = std::move(fields[0]);
    info.browser_major = std::move(fields[1]);
    info.browser_minor = std::move(fields[2]);
    info.browser_patch = std::move(fields[3]);
  }
  if (info.browser_family.empty()) info.browser_family = "Other";
  fields = {};
  if (impl_->os->match(ua, lowered, fields)) {
    info.os_family = std::move(fields[0]);
    info.os_major = std::move(fields[1]);
    info.os_minor = std::move(fields[2]);
    info.os_patch = std::move(fields[3]);
    info.os_patch_minor = std::move(fields[4]);
  }
  if (info.os_family.empty()) info.os_family = "Other";
  fields = {};
  if (impl_->device->match(ua, lowered, fields)) {
    info.device_family = std::move(fields[0]);
    info.device_brand = std::move(fields[1]);
    info.device_model = std::move(fields[2]);
  }
  if (info.device_family.empty()) info.device_family = "Other";
  info.browser_engine = engine_of(ua, info);
  info.is_bot = is_bot(lowered, info);
  info.type = type_of(ua, lowered, info);
  return info;
}

std::shared_ptr<const DeviceInfo> DeviceDetector::detect(std::string_view ua) const {
  if (impl_->shard_capacity == 0 || ua.size() > kMaxCachedLength) {
    impl_->misses.fetch_add(1, std::memory_order_relaxed);
    return std::make_shared<const DeviceInfo>(parse(ua));
  }
  const HashedAgent agent{ua, TransparentHash{}(ua)};
  CacheShard& shard = impl_->shards[agent.hash % kShards];
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(agent); it != shard.entries.end()) {
      shard.count_hit();
      return it->second;
    }
  }
  impl_->misses.fetch_add(1, std::memory_order_relaxed);
  auto info = std::make_shared<const DeviceInfo>(parse(ua));  // parsed outside the lock
  std::lock_guard lock(shard.mutex);
  auto [it, inserted] = shard.entries.try_emplace(std::string(ua), info);
  if (!inserted) return it->second;
  if (shard.ring.size() < impl_->shard_capacity) {
    shard.ring.emplace_back(ua);
  } else {
    shard.entries.erase(shard.ring[shard.next]);
    shard.ring[shard.next] = std::string(ua);
    shard.next = (shard.next + 1) % shard.ring.size();
  }
  return info;
}

DeviceInfo DeviceDetector::detect(std::string_view ua, const ClientHints& hints) const {
  DeviceInfo info = *detect(ua);
  if (!hints.empty()) apply_client_hints(info, hints);
  return info;
}

std::uint64_t DeviceDetector::cache_hits() const noexcept {
  std::uint64_t hits = 0;
  for (const CacheShard& shard : impl_->shards) hits += shard.hits.load(std::memory_order_relaxed);
  return hits;
}
std::uint64_t DeviceDetector::cache_misses() const noexcept {
  return impl_->misses.load(std::memory_order_relaxed);
}

namespace {

// Structured-header strings arrive quoted: "\"Android\"" → "Android".
std::string_view unquote(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

// The most specific brand of Sec-CH-UA and its version: GREASE entries ("Not A(Brand")
// are skipped, and "Chromium" only counts when nothing more specific is listed.
std::pair<std::string_view, std::string_view> main_brand(std::string_view list) {
  std::pair<std::string_view, std::string_view> chromium, best;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const std::string_view item = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    const auto semicolon = item.find(';');
    const std::string_view brand = unquote(item.substr(0, semicolon));
    std::string_view version;
    if (semicolon != std::string_view::npos) {
      std::string_view params = item.substr(semicolon + 1);
      if (const auto v = params.find("v="); v != std::string_view::npos) version = unquote(params.substr(v + 2));
    }
    // GREASE brands look like "Not A(Brand", "Not_A Brand", "Not;A=Brand".
    if (brand.empty() || brand.starts_with("Not") || contains(brand, "Brand")) continue;
    if (brand == "Chromium") {
      chromium = {brand, version};
    } else if (best.first.empty()) {
      best = {brand, version};
    }
  }
  return best.first.empty() ? chromium : best;
}

}  // namespace

void apply_client_hints(DeviceInfo& info, const ClientHints& hints) {
  const std::string_view platform = unquote(hints.platform);
  if (!platform.empty() &&
      (info.os_family.empty() || info.os_family == "Other" || (platform == "Android" && info.os_family != "Android"))) {
    info.os_family = platform == "macOS" ? "Mac OS X" : std::string(platform);
  }
  const std::string_view version = unquote(hints.platform_version);
  if (!version.empty() && !platform.empty()) {
    // Reduced UAs freeze the OS version (Android 10, Windows NT 10.0); the hint is real.
    // Windows 11 reports platform version 13 or above.
    const auto dot = version.find('.');
    const std::string_view major = version.substr(0, dot);
    if (platform == "Windows") {
      int number = 0;
      for (char c : major) number = c >= '0' && c <= '9' ? number * 10 + (c - '0') : number;
      if (number >= 13) info.os_major = "11";
    } else {
      info.os_major = std::string(major);
      const std::string_view rest = dot == std::string_view::npos ? std::string_view() : version.substr(dot + 1);
      info.os_minor = std::string(rest.substr(0, rest.find('.')));
    }
  }
  if (const std::string_view model = unquote(hints.model); !model.empty()) info.device_model = std::string(model);
  if (const auto [brand, brand_version] = main_brand(hints.brands); !brand.empty() && !brand_version.empty()) {
    if (info.browser_family == "Other" || info.browser_family.empty()) info.browser_family = std::string(brand);
    if (contains(brand, info.browser_family) || contains(info.browser_family, brand) || brand == "Google Chrome") {
      info.browser_major = std::string(brand_version.substr(0, brand_version.find('.')));
    }
  }
  if (hints.mobile == "?1" && (info.type == DeviceType::desktop || info.type == DeviceType::unknown)) {
    info.type = DeviceType::smartphone;
  } else if (hints.mobile == "?0" && info.type == DeviceType::smartphone && platform != "Android" &&
             platform != "iOS") {
    info.type = DeviceType::desktop;
  }
}

}  // namespace traffic::device
