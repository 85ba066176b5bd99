#include "traffic/pipeline/sinks/http_sink.hpp"

#include "traffic/common/hex.hpp"
#include "traffic/lid/click_record.hpp"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace traffic::pipeline {
namespace {

std::size_t discard_body(char*, std::size_t size, std::size_t count, void*) {
  return size * count;
}

// The answer of an aggregator request, kept to read its "success" (at most 64 KiB of it).
std::size_t keep_body(char* data, std::size_t size, std::size_t count, void* answer) {
  constexpr std::size_t kMostKept = 64 << 10;
  auto& kept = *static_cast<std::string*>(answer);
  const std::size_t room = kept.size() < kMostKept ? kMostKept - kept.size() : 0;
  kept.append(data, std::min(size * count, room));
  return size * count;
}

// The old aggregator's answer to /lidBonus: a JSON object with "success": true.
bool answered_success(const std::string& answer) {
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(answer, ec);
  if (ec || !parsed.is_object()) return false;
  const auto* success = parsed.as_object().if_contains("success");
  return success != nullptr && success->is_bool() && success->as_bool();
}

void append_base64(std::string& out, std::string_view bytes) {
  const std::size_t start = out.size();
  out.resize(start + 4 * ((bytes.size() + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + start),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(start + static_cast<std::size_t>(n));
}

std::string http_error(CURLcode code, long status) {
  if (code != CURLE_OK) return curl_easy_strerror(code);
  return "HTTP " + std::to_string(status);
}

}  // namespace

HttpSinkSettings HttpSinkSettings::from_url(const SinkUrl& url) {
  HttpSinkSettings settings;
  settings.url = url.target;
  settings.timeout = std::chrono::milliseconds(url.number("timeout_ms", 10'000, 100, 600'000));
  settings.concurrency = url.number("concurrency", 8, 1, 256);
  settings.batch = url.number("batch", url.kind == SinkKind::aggregator ? 256 : 500, 1, 100'000);
  return settings;
}

struct HttpSink::Curl {
  CURLM* multi = nullptr;
  std::vector<CURL*> handles;  // [0] serves the batch mode; all serve the aggregator mode
  std::vector<std::string> bodies;
  std::vector<std::string> answers;  // aggregator: each request's answer
  std::vector<bool> bonus;           // aggregator: the request is a conversion (/lidBonus)
  curl_slist* headers = nullptr;

  ~Curl() {
    for (CURL* handle : handles) curl_easy_cleanup(handle);
    if (multi != nullptr) curl_multi_cleanup(multi);
    curl_slist_free_all(headers);
  }
};

HttpSink::HttpSink(HttpSinkSettings settings, Mode mode)
    : settings_(std::move(settings)), mode_(mode), curl_(std::make_unique<Curl>()) {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (mode_ == Mode::aggregator) {
    if (!settings_.url.ends_with('/')) settings_.url.push_back('/');
    offer_url_ = settings_.url + "offer";
    bonus_url_ = settings_.url + "lidBonus";
  }
  const std::size_t handles = mode_ == Mode::aggregator ? settings_.concurrency : 1;
  curl_->headers = curl_slist_append(
      nullptr, mode_ == Mode::aggregator ? "Content-Type: application/json" : "Content-Type: application/x-ndjson");
  curl_->headers = curl_slist_append(curl_->headers, "Expect:");  // no 100-continue round trip
  curl_->bodies.resize(handles);
  curl_->answers.resize(handles);
  curl_->bonus.resize(handles);
  for (std::size_t i = 0; i < handles; ++i) {
    CURL* handle = curl_easy_init();
    if (handle == nullptr) throw std::runtime_error("curl_easy_init failed");
    curl_->handles.push_back(handle);
    curl_easy_setopt(handle, CURLOPT_URL, settings_.url.c_str());
    curl_easy_setopt(handle, CURLOPT_POST, 1L);
    curl_easy_setopt(handle, CURLOPT_HTTPHEADER, curl_->headers);
    curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(settings_.timeout.count()));
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    if (mode_ == Mode::aggregator) {
      curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, keep_body);
      curl_easy_setopt(handle, CURLOPT_WRITEDATA, &curl_->answers[i]);
    } else {
      curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, discard_body);
    }
    curl_easy_setopt(handle, CURLOPT_TCP_KEEPALIVE, 1L);
  }
  if (mode_ == Mode::aggregator) {
    curl_->multi = curl_multi_init();
    if (curl_->multi == nullptr) throw std::runtime_error("curl_multi_init failed");
  }
}

HttpSink::~HttpSink() = default;

Result<> HttpSink::deliver(std::span<const std::string_view> records) {
  return mode_ == Mode::aggregator ? post_each(records) : post_batch(records);
}

Result<> HttpSink::post_batch(std::span<const std::string_view> records) {
  CURL* handle = curl_->handles[0];
  std::string& body = curl_->bodies[0];
  body.clear();
  for (const std::string_view record : records) body.append(record);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  const CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  if (code == CURLE_OK && status >= 200 && status < 300) return {};
  return Failure(Errc::unavailable, http_error(code, status));
}

// One record as the old service sent it: a conversion (event "traffic-bonus") to
// /lidBonus as {"stats": <record>, "timestamp": <ms>, "hash": md5("<ms>|<secret>")}; any
// other record (a click, a resend) to /offer as {"key": base64(<record>), "event":
// "click", "time": <date_added>, "count": 1}.
void HttpSink::aggregator_request(std::size_t slot, std::string_view record) {
  if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
  std::string& body = curl_->bodies[slot];
  const bool bonus = lid::record_field(record, "event") == "traffic-bonus";
  if (bonus) {
    const std::string now = std::to_string(clock_or_system(settings_.clock).now());
    body.assign(R"({"stats":)");
    body.append(record);
    body.append(R"(,"timestamp":)");
    body.append(now);
    body.append(R"(,"hash":")");
    body.append(md5_hex(now + "|" + settings_.bonus_secret));
    body.append(R"("})");
  } else {
    body.assign(R"({"key":")");
    append_base64(body, record);
    body.append(R"(","event":"click","time":)");
    body.append(std::to_string(lid::record_number(record, "date_added")));
    body.append(R"(,"count":1})");
  }
  curl_->bonus[slot] = bonus;
  curl_->answers[slot].clear();
  CURL* handle = curl_->handles[slot];
  curl_easy_setopt(handle, CURLOPT_URL, (bonus ? bonus_url_ : offer_url_).c_str());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
}

Result<> HttpSink::post_each(std::span<const std::string_view> records) {
  std::vector<std::size_t> idle;
  for (std::size_t i = curl_->handles.size(); i > 0; --i) idle.push_back(i - 1);
  std::size_t next = 0;
  std::size_t in_flight = 0;
  std::string failure;  // the first failure; "" while all went well
  const auto ok = [&] { return failure.empty(); };
  while ((ok() && next < records.size()) || in_flight > 0) {
    while (ok() && next < records.size() && !idle.empty()) {
      const std::size_t slot = idle.back();
      idle.pop_back();
      aggregator_request(slot, records[next++]);
      curl_multi_add_handle(curl_->multi, curl_->handles[slot]);
      ++in_flight;
    }
    int running = 0;
    curl_multi_perform(curl_->multi, &running);
    int queued = 0;
    while (CURLMsg* message = curl_multi_info_read(curl_->multi, &queued)) {
      if (message->msg != CURLMSG_DONE) continue;
      CURL* handle = message->easy_handle;
      long status = 0;
      curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
      // The handle's slot: a few handles (the concurrency), searched rather than cast into
      // CURLOPT_PRIVATE and back.
      const auto slot = static_cast<std::size_t>(std::find(curl_->handles.begin(), curl_->handles.end(), handle) -
                                                 curl_->handles.begin());
      // No new requests after a failure; the ones in flight finish; the batch is offered again.
      if (message->data.result != CURLE_OK || status < 200 || status >= 300) {
        if (ok()) failure = http_error(message->data.result, status);
      } else if (curl_->bonus[slot] && !answered_success(curl_->answers[slot])) {
        // the old service read "success" from /lidBonus: anything else is a failure
        if (ok()) failure = "lidBonus answered without success";
      }
      curl_multi_remove_handle(curl_->multi, handle);
      idle.push_back(slot);
      --in_flight;
    }
    if (in_flight > 0) curl_multi_poll(curl_->multi, nullptr, 0, 100, nullptr);
  }
  if (!ok()) return Failure(Errc::unavailable, failure);
  return {};
}

}  // namespace traffic::pipeline
