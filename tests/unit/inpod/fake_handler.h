// A WorkloadHandler for tests: records calls, can be told to fail some uids,
// and remembers the inode of every netns fd it received.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "inpod/zds_session.h"

namespace ambit::inpod::testing {

class FakeHandler : public WorkloadHandler {
 public:
  Status AddWorkload(const std::string& uid, const WorkloadInfo& info, UniqueFd netns) override {
    std::lock_guard lock(mu_);
    events_.push_back("add " + uid);
    cv_.notify_all();
    if (fail_.contains(uid)) return Error(ErrorCode::kInvalidArgument, "refusing " + uid);
    struct stat st {};
    inodes_[uid] = ::fstat(netns.get(), &st) == 0 ? st.st_ino : 0;
    infos_[uid] = info;
    return Ok();
  }
  Status DelWorkload(const std::string& uid) override {
    std::lock_guard lock(mu_);
    events_.push_back("del " + uid);
    inodes_.erase(uid);
    cv_.notify_all();
    return Ok();
  }

  void FailFor(const std::string& uid) {
    std::lock_guard lock(mu_);
    fail_.insert(uid);
  }
  std::vector<std::string> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::map<std::string, ino_t> inodes() const {
    std::lock_guard lock(mu_);
    return inodes_;
  }
  WorkloadInfo info(const std::string& uid) const {
    std::lock_guard lock(mu_);
    auto it = infos_.find(uid);
    return it == infos_.end() ? WorkloadInfo{} : it->second;
  }
  // Waits until |event| has been recorded.
  bool WaitFor(const std::string& event, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (e == event) return true;
      }
      return false;
    });
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<std::string> events_;
  std::set<std::string> fail_;
  std::map<std::string, ino_t> inodes_;
  std::map<std::string, WorkloadInfo> infos_;
};

}  // namespace ambit::inpod::testing
