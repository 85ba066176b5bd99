#include "traffic/source/record_updates.hpp"

#include <pthread.h>

#include <algorithm>
#include <vector>

#include "traffic/recipe/loader.hpp"
#include "traffic/redis/subscriber.hpp"

namespace traffic::source {

RecordUpdates::RecordUpdates(recipe::Store& store, const Clock& clock, RecordUpdateSettings settings, Report report)
    : store_(store),
      clock_(clock),
      settings_(std::move(settings)),
      report_(std::move(report)),
      subscriber_(std::make_unique<redis::Subscriber>(settings_.endpoint, settings_.channel)) {}

RecordUpdates::~RecordUpdates() {
  stop();
}

void RecordUpdates::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "recipe-updates");
    run();
  });
}

void RecordUpdates::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  subscriber_->wake();
  thread_.join();
}

void RecordUpdates::wait_for(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, delay, [&] { return stopping_; });
}

void RecordUpdates::run() {
  using namespace std::chrono_literals;
  std::vector<std::string> messages;
  std::chrono::milliseconds backoff{0};
  bool outage_reported = false;
  // The connection's state and its last failure ("" once subscribed), published together:
  // a reader never sees "not subscribed" without the reason.
  auto publish_state = [&](std::string failure) {
    std::lock_guard lock(mutex_);
    stats_.subscribed = subscriber_->subscribed();
    stats_.subscriptions = subscriber_->subscriptions();
    stats_.last_failure = std::move(failure);
  };
  auto connection_failed = [&](const Failure& failure) {
    publish_state(failure.detail);
    if (!outage_reported && report_) report_(Event::connection_lost, failure.detail);
    outage_reported = true;
  };
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    if (!subscriber_->subscribed()) {
      if (const Result<> subscribed = subscriber_->subscribe(); !subscribed) {
        connection_failed(subscribed.error());
        backoff = std::min(settings_.max_backoff, backoff.count() == 0 ? 500ms : backoff * 2);
        wait_for(backoff);
        continue;
      }
      publish_state({});
      backoff = 0ms;
      outage_reported = false;
      if (report_) report_(Event::subscribed, settings_.channel);
    }
    messages.clear();
    if (const Result<> received = subscriber_->receive(messages, 1s); !received) {
      connection_failed(received.error());  // subscribes again at once; backs off if that fails
      continue;
    }
    for (const std::string& message : messages) handle(message);
  }
}

void RecordUpdates::handle(std::string_view message) {
  recipe::LoadReport report;
  auto update = recipe::parse_update(message, report);
  std::optional<recipe::Store::ApplyOutcome> outcome;
  if (update) outcome = store_.apply(*update);
  {
    std::lock_guard lock(mutex_);
    ++stats_.received;
    stats_.last_message = clock_.now();
    if (!outcome) {
      ++stats_.invalid;
    } else if (*outcome == recipe::Store::ApplyOutcome::applied) {
      ++stats_.applied;
    } else {
      ++stats_.stale;
    }
  }
  if (!update && report_) {
    report_(Event::invalid_message, report.error_detail.empty() ? update.error().message() : report.error_detail);
  }
}

RecordUpdateStats RecordUpdates::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

}  // namespace traffic::source
