#include "node/connection_tracker.h"

#include <asio/post.hpp>

#include <vector>

namespace ambit::node {

ConnectionTracker::Token::~Token() {
  if (id_ == 0) return;
  if (auto tracker = tracker_.lock()) tracker->Unregister(id_);
}

std::optional<ConnectionTracker::Token> ConnectionTracker::Register(asio::any_io_executor executor,
                                                                    std::function<void()> abort,
                                                                    std::function<void()> drain,
                                                                    std::function<void()> recheck) {
  std::lock_guard lock(mu_);
  if (draining_) return std::nullopt;
  const std::uint64_t id = next_id_++;
  live_.emplace(id, Entry{std::move(executor), std::move(abort), std::move(drain), std::move(recheck)});
  return Token(weak_from_this(), id);
}

void ConnectionTracker::Unregister(std::uint64_t id) {
  std::lock_guard lock(mu_);
  live_.erase(id);
}

void ConnectionTracker::StartDraining() {
  {
    std::lock_guard lock(mu_);
    if (draining_) return;
    draining_ = true;
  }
  PostToAll(&Entry::drain);
}

bool ConnectionTracker::draining() const {
  std::lock_guard lock(mu_);
  return draining_;
}

void ConnectionTracker::AbortAll() { PostToAll(&Entry::abort); }

void ConnectionTracker::RecheckAll() { PostToAll(&Entry::recheck); }

void ConnectionTracker::PostToAll(std::function<void()> Entry::*pick) {
  std::vector<std::pair<std::uint64_t, asio::any_io_executor>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : live_) {
      if (entry.*pick) targets.emplace_back(id, entry.executor);
    }
  }
  for (auto& [id, executor] : targets) {
    asio::post(executor, [weak = weak_from_this(), id = id, pick] {
      auto self = weak.lock();
      if (self == nullptr) return;
      std::function<void()> fn;
      {
        std::lock_guard lock(self->mu_);
        auto it = self->live_.find(id);
        if (it == self->live_.end()) return;  // finished meanwhile
        fn = it->second.*pick;
      }
      // Runs on the connection's own loop, where its token is destroyed, so the
      // connection cannot finish concurrently with this call.
      fn();
    });
  }
}

std::size_t ConnectionTracker::active() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

std::uint64_t ConnectionTracker::total() const {
  std::lock_guard lock(mu_);
  return next_id_ - 1;
}

}  // namespace ambit::node
