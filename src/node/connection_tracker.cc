#include "node/connection_tracker.h"

#include <asio/post.hpp>

#include <condition_variable>
#include <vector>

namespace ambit::node {

ConnectionTracker::Token::~Token() {
  if (id_ == 0) return;
  if (auto tracker = tracker_.lock()) tracker->Unregister(id_);
}

std::optional<ConnectionTracker::Token> ConnectionTracker::Register(asio::any_io_executor executor,
                                                                    std::function<void()> abort,
                                                                    std::function<void()> drain,
                                                                    std::function<void()> recheck,
                                                                    ConnectionView view) {
  std::lock_guard lock(mu_);
  if (draining_) return std::nullopt;
  const std::uint64_t id = next_id_++;
  live_.emplace(id, Entry{std::move(executor), std::move(abort), std::move(drain), std::move(recheck), view});
  return Token(weak_from_this(), id);
}

void ConnectionTracker::Unregister(std::uint64_t id) {
  std::lock_guard lock(mu_);
  live_.erase(id);
  if (live_.empty()) idle_.notify_all();
}

bool ConnectionTracker::WaitIdle(std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mu_);
  return idle_.wait_until(lock, deadline, [this] { return live_.empty(); });
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

std::vector<ConnectionRow> ConnectionTracker::Describe(std::chrono::milliseconds timeout) const {
  struct Gather {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<ConnectionRow> rows;  // guarded by mu
    std::size_t pending = 0;          // guarded by mu
  };
  auto gather = std::make_shared<Gather>();
  std::vector<std::pair<std::uint64_t, asio::any_io_executor>> targets;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : live_) {
      if (entry.view.describe != nullptr) targets.emplace_back(id, entry.executor);
    }
  }
  gather->pending = targets.size();
  auto self = std::const_pointer_cast<ConnectionTracker>(shared_from_this());
  for (auto& [id, executor] : targets) {
    asio::post(executor, [weak = std::weak_ptr<ConnectionTracker>(self), id = id, gather] {
      std::optional<ConnectionRow> row;
      if (auto tracker = weak.lock()) {
        ConnectionView view;
        {
          std::lock_guard lock(tracker->mu_);
          auto it = tracker->live_.find(id);
          if (it != tracker->live_.end()) view = it->second.view;
        }
        // On the connection's loop: it cannot finish while this runs.
        if (view.describe != nullptr) {
          row.emplace();
          view.describe(view.context, *row);
        }
      }
      std::lock_guard lock(gather->mu);
      if (row) gather->rows.push_back(std::move(*row));
      if (--gather->pending == 0) gather->cv.notify_all();
    });
  }
  std::unique_lock lock(gather->mu);
  gather->cv.wait_for(lock, timeout, [&] { return gather->pending == 0; });
  return gather->rows;
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
