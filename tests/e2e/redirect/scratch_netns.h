// ScratchNetns: a uniquely named network namespace for one e2e test, removed in
// the destructor whether the test passed or failed.
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <string>

#include "core/netns.h"
#include "redirect/netns_exec.h"

namespace ambit::redirect {

// A uniquely named netns with lo up and eth0 |cidr| (default 10.254.77.2/24),
// a veth whose peer "peer0" stays in the namespace, unaddressed, so nothing
// answers on the subnet until a test moves peer0 elsewhere; deleted in the
// destructor.
class ScratchNetns {
 public:
  explicit ScratchNetns(const std::string& cidr = "10.254.77.2/24") {
    std::random_device rd;
    name_ = "ambit-e2e-redirect-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000);
    auto added = RunInNetns(-1, {"ip", "netns", "add", name_});
    if (!added.ok() || added->exit_code != 0) return;
    created_ = true;
    auto ns = Netns::Open("/run/netns/" + name_);
    if (!ns.ok()) return;
    netns_.emplace(std::move(*ns));
    Sh("ip link set lo up && ip link add eth0 type veth peer name peer0 && "
       "ip addr add " + cidr + " dev eth0 && ip link set eth0 up && ip link set peer0 up");
  }
  ~ScratchNetns() {
    if (created_) (void)RunInNetns(-1, {"ip", "netns", "del", name_});
  }

  bool ok() const { return netns_.has_value(); }
  const std::string& name() const { return name_; }
  const Netns& netns() const { return *netns_; }
  const std::string& path() const { return netns_->path(); }

  // Runs a shell command inside the namespace; returns stdout, fails the test on error.
  std::string Sh(const std::string& cmd) const {
    auto out = RunInNetns(netns_->fd(), {"sh", "-c", cmd});
    EXPECT_TRUE(out.ok()) << cmd << ": " << (out.ok() ? "" : out.error().ToString());
    if (!out.ok()) return "";
    EXPECT_EQ(out->exit_code, 0) << cmd << ": " << out->err;
    return out->out;
  }

 private:
  std::string name_;
  bool created_ = false;
  std::optional<Netns> netns_;
};

}  // namespace ambit::redirect
