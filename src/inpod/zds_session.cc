#include "inpod/zds_session.h"

#include <vector>

#include "core/log.h"

namespace ambit::inpod {

std::string ZdsSession::Handle(ZdsRequest request) {
  if (auto* add = std::get_if<ZdsAdd>(&request)) {
    // Present on the agent even if we fail to serve it: never reconcile it away.
    if (!reconciled_) in_snapshot_.insert(add->uid);
    Status added = handler_.AddWorkload(add->uid, add->info, std::move(add->netns));
    if (!added.ok()) return "add " + add->uid + ": " + added.error().ToString();
    known_.insert(add->uid);
    return "";
  }
  if (auto* keep = std::get_if<ZdsKeep>(&request)) {
    if (reconciled_) return "keep " + keep->uid + " after the snapshot was complete";
    in_snapshot_.insert(keep->uid);
    return "";
  }
  if (auto* del = std::get_if<ZdsDel>(&request)) {
    Status deleted = handler_.DelWorkload(del->uid);
    known_.erase(del->uid);
    in_snapshot_.erase(del->uid);
    if (!deleted.ok()) return "del " + del->uid + ": " + deleted.error().ToString();
    return "";
  }
  // SnapshotSent.
  if (reconciled_) return "snapshot-sent received twice on one connection";
  std::vector<std::string> gone;
  for (const auto& uid : known_) {
    if (!in_snapshot_.contains(uid)) gone.push_back(uid);
  }
  std::string errors;
  for (const auto& uid : gone) {
    AMBIT_LOG_INFO("zds: dropping workload {} (not in the node agent's snapshot)", uid);
    Status deleted = handler_.DelWorkload(uid);
    known_.erase(uid);
    if (!deleted.ok()) errors += (errors.empty() ? "" : "; ") + ("del " + uid + ": " + deleted.error().ToString());
  }
  in_snapshot_.clear();
  reconciled_ = true;
  return errors;
}

}  // namespace ambit::inpod
