#pragma once
// The recipe mirrored in Redis (SPEC.md §6): each record as `<prefix>offer:<id>` /
// `<prefix>campaign:<id>` holding its compact JSON — the layout other tools of the network
// read — and where an instance boots from when its sources and files are unusable.
//
// A write never leaves a gap: records are SET over the old values (only the ones that
// changed since this instance's last complete write), then keys of records that are gone
// are deleted, found by SCAN. Commands go in pipelined batches. Blocking: called by the
// recipe-sync thread (RecipeSync), never by a request thread.

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "traffic/recipe/loader.hpp"
#include "traffic/redis/connection.hpp"
#include "traffic/source/recipe_sync.hpp"

namespace traffic::source {

struct RedisMirrorSettings {
  redis::Endpoint endpoint;
  std::string key_prefix;    ///< REDIS_KEY_PREFIX, before `offer:` / `campaign:`
  std::size_t batch = 1000;  ///< commands per pipeline
};

/// What the last write did, for logs and tests.
struct MirrorWriteStats {
  std::size_t written = 0;    ///< records SET (changed, new, or missing from Redis)
  std::size_t unchanged = 0;  ///< records already there as they are
  std::size_t removed = 0;    ///< keys of records no longer in the recipe
};

class RedisMirror final : public RecipeMirror {
 public:
  explicit RedisMirror(RedisMirrorSettings settings);
  ~RedisMirror() override;
  RedisMirror(const RedisMirror&) = delete;
  RedisMirror& operator=(const RedisMirror&) = delete;

  Result<> write(std::string_view offers_file, std::string_view campaigns_file) override;
  /// Every `offer:<id>` / `campaign:<id>` key whose value is JSON; values that are not are
  /// skipped (counted in the error text only when nothing usable is left).
  Result<std::pair<std::string, std::string>> read() override;

  [[nodiscard]] const MirrorWriteStats& last_write() const noexcept { return last_write_; }

 private:
  struct Kind;
  std::string write_kind(Kind& kind, std::string_view file);
  std::string read_kind(Kind& kind, std::string& array, std::size_t& skipped);
  bool flush(std::string& error);  // false and `error` set when the exchange failed

  RedisMirrorSettings settings_;
  redis::Connection connection_;
  std::unique_ptr<Kind> offers_;
  std::unique_ptr<Kind> campaigns_;
  std::vector<redis::Reply> replies_;
  MirrorWriteStats last_write_;
};

}  // namespace traffic::source
