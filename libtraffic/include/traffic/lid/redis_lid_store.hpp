#pragma once
// The lid store in Redis (SPEC.md §9), shared by every instance: an advertiser's postback
// finds the click whichever instance took it.
//   <prefix>lid:<lid>            the click record (one JSON line), SET … EX ttl
//   <prefix>lid:<lid>:converted  the conversion mark, SET … NX EX ttl (the atomic de-dup)
//   <prefix>lid:<lid>:resent     the resend mark (resendLid=yes once), likewise
// Filled by a LidStoreSink (pipelined SETs, one exchange per delivery); read by postbacks on
// the thread trafficd gives to blocking work, never on a request thread.

#include <chrono>
#include <mutex>
#include <string>

#include "traffic/lid/lid_store.hpp"
#include "traffic/redis/connection.hpp"

namespace traffic::lid {

/// Thread-safety: all methods may be called from any thread; the sink's batches and the
/// postbacks' lookups use separate connections, each behind its own mutex. Every call
/// fails with Errc::unavailable when Redis cannot be reached (a postback is answered 503;
/// the emitter retries a batch).
class RedisLidStore final : public LidStore {
 public:
  RedisLidStore(const redis::Endpoint& endpoint, std::string key_prefix, std::chrono::seconds ttl);

  Result<> put_many(std::span<const LidRecord> records, TimestampMs now) override;
  Result<std::optional<std::string>> get(std::string_view lid, TimestampMs now) override;
  Result<bool> mark(std::string_view lid, LidMark mark, TimestampMs now) override;
  Result<> clear_mark(std::string_view lid, LidMark mark) override;
  [[nodiscard]] bool remote() const noexcept override { return true; }

 private:
  // One command on the lookup connection; an error reply is a failure too.
  Result<redis::Reply> lookup(std::initializer_list<std::string_view> command);
  std::string key(std::string_view lid, std::string_view suffix = {}) const;

  std::string prefix_;
  std::string ttl_seconds_;
  mutable std::mutex batch_mutex_;
  redis::Connection batch_connection_;
  std::vector<redis::Reply> batch_replies_;
  std::mutex lookup_mutex_;
  redis::Connection lookup_connection_;
  std::vector<redis::Reply> lookup_replies_;
};

}  // namespace traffic::lid
