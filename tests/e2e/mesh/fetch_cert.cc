// mesh_fetch_cert: obtains a workload certificate from a cluster's CA the way
// ztunnel does (CSR + node credential over ambitd's socket) and writes
// key.pem, cert.pem (leaf, then intermediates) and root.pem to a directory.
// Test tool for the mesh e2e tests (a real mesh certificate for openssl).
//
//   mesh_fetch_cert CA_ADDRESS CREDENTIAL_FILE SPIFFE_ID OUT_DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "caclient/ca_client.h"
#include "identity/spiffe_id.h"

namespace {

bool Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s CA_ADDRESS CREDENTIAL_FILE SPIFFE_ID OUT_DIR\n", argv[0]);
    return 2;
  }
  auto id = ambit::identity::SpiffeId::Parse(argv[3]);
  if (!id.ok()) {
    std::fprintf(stderr, "mesh_fetch_cert: %s\n", id.error().ToString().c_str());
    return 2;
  }
  ambit::caclient::GrpcCaClientOptions options;
  options.token = ambit::caclient::FileTokenSource(argv[2]);
  auto channel = ambit::caclient::MakeCaChannel(argv[1]);
  if (!channel.ok()) {
    std::fprintf(stderr, "mesh_fetch_cert: %s\n", channel.error().ToString().c_str());
    return 2;
  }
  auto client = ambit::caclient::MakeGrpcCaClient(*channel, std::move(options));
  auto cert = client->Fetch(*id);
  if (!cert.ok()) {
    std::fprintf(stderr, "mesh_fetch_cert: %s\n", cert.error().ToString().c_str());
    return 1;
  }
  const std::string dir = argv[4];
  std::string chain = cert->leaf_pem;
  for (const auto& pem : cert->chain_pems) chain += pem;
  std::string roots;
  for (const auto& pem : cert->root_pems) roots += pem;
  if (!Write(dir + "/key.pem", cert->key_pem) || !Write(dir + "/cert.pem", chain) ||
      !Write(dir + "/root.pem", roots)) {
    std::fprintf(stderr, "mesh_fetch_cert: cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
