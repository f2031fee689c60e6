// The reconciler: makes the machine match the store. One thread; each pass
// (after every store change, and once a second to notice process changes)
//   1. removes pods that are no longer wanted (or were replaced: new UID),
//      after giving the observer the last view without them (so discovery
//      drops their endpoints before their containers are stopped),
//   2. creates wanted pods that do not exist (retrying failures with backoff),
//   3. restarts lost container supervisors,
//   4. computes pod phases and readiness, and each Service's ready endpoints,
//   5. rewrites each pod's hosts file and service nft table when they changed,
//   6. publishes a RuntimeView for readers.
// A pass only reads the store; readers only read published views. Thread-safe.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/supervisor.h"
#include "config/resource_key.h"
#include "control/pod_runtime.h"
#include "control/store.h"

namespace ambit::control {

struct PodView {
  std::string uid;                // of the pod this view describes
  std::string phase = "Pending";  // Pending | Running | Succeeded | Failed
  bool ready = false;
  std::string ip;
  std::string netns;
  std::string message;  // why it is not running, if known
  std::vector<std::pair<std::string, cluster::ContainerStatus>> containers;
};

struct RuntimeView {
  uint64_t store_generation = 0;  // the store snapshot this view reflects
  std::map<config::ResourceKey, PodView> pods;
  // Service key -> "ip:port" of ready endpoints (first port's target).
  std::map<config::ResourceKey, std::vector<std::string>> endpoints;
};

class Reconciler {
 public:
  Reconciler(const Store* store, PodRuntime* runtime);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  // Called on the reconciler thread after every pass (set before Start()).
  using Observer = std::function<void(const StoreState&, const RuntimeView&)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  void Start();
  void Stop();
  // Asks for a pass soon (e.g. after a commit).
  void Kick();
  std::shared_ptr<const RuntimeView> View() const;
  // Waits until a pass has reflected store generation |generation| (or timeout).
  bool WaitForGeneration(uint64_t generation, int timeout_ms) const;

 private:
  void Loop();
  void Pass();

  const Store* store_;
  PodRuntime* runtime_;
  Observer observer_;

  // Reconciler-thread state.
  std::map<config::ResourceKey, RealizedPod> realized_;
  std::map<config::ResourceKey, std::string> applied_rules_;
  std::map<config::ResourceKey, std::string> applied_hosts_;
  struct Failure {
    std::string message;
    std::chrono::steady_clock::time_point retry_at;
    int attempts = 0;
  };
  std::map<config::ResourceKey, Failure> failures_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool kicked_ = false;
  bool stopping_ = false;
  std::shared_ptr<const RuntimeView> view_;
  std::thread thread_;
};

}  // namespace ambit::control
