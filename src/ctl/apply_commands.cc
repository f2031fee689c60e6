#include "ctl/apply_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "ambit/v1/cluster.pb.h"
#include "cluster/process.h"
#include "ctl/client.h"

namespace ambit::ctl {
namespace {

Result<ambit::v1::ManifestRequest> ReadManifests(const std::vector<std::string>& paths) {
  if (paths.empty()) return Error(ErrorCode::kInvalidArgument, "-f: give a file or directory");
  ambit::v1::ManifestRequest req;
  auto add_file = [&](const std::string& path) -> Status {
    AMBIT_ASSIGN_OR_RETURN(std::string text, cluster::ReadFile(path));
    auto* m = req.add_manifests();
    m->set_source(path);
    m->set_content(std::move(text));
    return Ok();
  };
  for (const auto& path : paths) {
    if (path == "-") {
      auto* m = req.add_manifests();
      m->set_source("<stdin>");
      std::string text;
      char buf[65536];
      for (;;) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
      }
      m->set_content(std::move(text));
      continue;
    }
    std::error_code ec;
    auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      return Error(ErrorCode::kNotFound, "-f " + path + ": no such file or directory");
    }
    if (std::filesystem::is_directory(status)) {
      std::vector<std::string> files;
      for (const auto& e : std::filesystem::directory_iterator(path)) {
        auto ext = e.path().extension().string();
        if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
          files.push_back(e.path().string());
        }
      }
      std::sort(files.begin(), files.end());
      if (files.empty()) {
        return Error(ErrorCode::kInvalidArgument,
                     "-f " + path + ": no *.yaml, *.yml or *.json files in the directory");
      }
      for (const auto& f : files) AMBIT_RETURN_IF_ERROR(add_file(f));
    } else {
      AMBIT_RETURN_IF_ERROR(add_file(path));
    }
  }
  return req;
}

std::string Describe(const ambit::v1::ManifestResponse& resp) {
  std::string out;
  // Warnings arrive as complete lines ("<file>:<line>: warning: ..." or
  // istioctl's "Warning [IST0127] (...) ...").
  for (const auto& w : resp.warnings()) out += w + "\n";
  for (const auto& c : resp.changes()) {
    std::string kind = c.kind();
    std::transform(kind.begin(), kind.end(), kind.begin(), ::tolower);
    out += kind + "/" + (c.namespace_().empty() ? "" : c.namespace_() + "/") + c.name() + " " +
           c.action() + "\n";
  }
  return out;
}

Status WaitForPods(ClusterClient& client, const ambit::v1::ManifestResponse& resp, int timeout_s) {
  std::set<std::string> wanted(resp.pods().begin(), resp.pods().end());
  if (wanted.empty()) return Ok();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  std::map<std::string, std::string> not_ready;
  for (;;) {
    AMBIT_ASSIGN_OR_RETURN(auto list, client.ListPods(""));
    not_ready.clear();
    for (const auto& p : list.pods()) {
      std::string key = p.namespace_() + "/" + p.name();
      if (!wanted.count(key)) continue;
      if (p.phase() == "Failed") {
        return Error(ErrorCode::kUnavailable, "pod " + key + " failed" +
                                                  (p.message().empty() ? "" : ": " + p.message()) +
                                                  "; see `ambitctl logs " + key + "`");
      }
      if (!(p.ready() || p.phase() == "Succeeded")) {
        not_ready[key] = p.phase() + (p.message().empty() ? "" : " (" + p.message() + ")");
      }
    }
    if (not_ready.empty()) return Ok();
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::string msg = "timed out after " + std::to_string(timeout_s) + "s waiting for pods:";
  for (const auto& [k, v] : not_ready) msg += "\n  " + k + ": " + v;
  return Error(ErrorCode::kTimeout, msg);
}

}  // namespace

Result<std::string> Apply(const ManifestOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(auto req, ReadManifests(options.files));
  AMBIT_ASSIGN_OR_RETURN(auto client,
                         ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  AMBIT_ASSIGN_OR_RETURN(auto resp, client->Apply(req));
  std::string out = Describe(resp);
  if (options.wait) {
    std::cout << out << std::flush;
    out.clear();
    AMBIT_RETURN_IF_ERROR(WaitForPods(*client, resp, options.timeout_seconds));
    out = std::to_string(resp.pods_size()) + " pod(s) ready\n";
  }
  return out;
}

Result<std::string> Delete(const ManifestOptions& options) {
  AMBIT_ASSIGN_OR_RETURN(auto req, ReadManifests(options.files));
  req.set_ignore_not_found(options.ignore_not_found);
  AMBIT_ASSIGN_OR_RETURN(auto client,
                         ClusterClient::Connect(cluster::ClusterLayout(options.cluster)));
  AMBIT_ASSIGN_OR_RETURN(auto resp, client->Delete(req));
  return Describe(resp);
}

}  // namespace ambit::ctl
