// The real CA gRPC server (in process, on a unix socket in a temp dir) and the
// real CA client; issued certificates are checked with the openssl binary.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <set>
#include <thread>

#include "ca/ca_service.h"
#include "ca/certificate_authority.h"
#include "ca/cluster_ca.h"
#include "ca/node_authorizer.h"
#include "ca/node_credential.h"
#include "caclient/ca_client.h"
#include "istio/security/ca.grpc.pb.h"
#include "pki/cert.h"
#include "pki/csr.h"
#include "pki/pem.h"
#include "pki/file.h"
#include "pki/key.h"
#include "support/temp_dir.h"

namespace ambit {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

const identity::SpiffeId kWeb("cluster.local", "default", "web");
constexpr char kCluster[] = "c1";

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.error().ToString();
    std::abort();
  }
  return std::move(r).value();
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

// Runs a shell command line (arguments are temp-dir paths and fixed words only).
CommandResult RunShell(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buf;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) result.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

void WriteText(const std::string& path, const std::string& text) {
  ASSERT_TRUE(pki::WriteFileAtomically(path, text, 0644).ok()) << path;
}

std::string Join(const std::vector<std::string>& pems) {
  std::string out;
  for (const auto& p : pems) out += p;
  return out;
}

// One CA server on <dir>/ambitd.sock with its own node credential secret.
class CaServer {
 public:
  CaServer(const std::string& state_dir, const std::string& ca_dir) {
    cluster_ca_ = Must(ca::ClusterCa::Open(ca_dir, kCluster, {}));
    authorizer_.Add("node-a", kWeb);
    service_ = cluster_ca_->MakeService(authorizer_);
    target_ = "unix:" + state_dir + "/ambitd.sock";
    grpc::ServerBuilder builder;
    builder.AddListeningPort(target_, grpc::InsecureServerCredentials());
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    if (!server_) std::abort();
  }
  ~CaServer() { server_->Shutdown(); }

  std::unique_ptr<caclient::CaClient> Client(caclient::TokenSource token) const {
    caclient::GrpcCaClientOptions options;
    options.token = std::move(token);
    return caclient::MakeGrpcCaClient(caclient::MakeCaChannel(target_).value(), options);
  }
  std::unique_ptr<caclient::CaClient> Client(std::string token) const {
    return Client(caclient::StaticTokenSource(std::move(token)));
  }
  std::string Token(const std::string& node) const { return Must(cluster_ca_->issuer().Issue(node)); }
  const std::string& target() const { return target_; }
  const ca::CertificateAuthority& ca() const { return cluster_ca_->authority(); }
  const ca::ClusterCa& cluster_ca() const { return *cluster_ca_; }

 private:
  std::unique_ptr<ca::ClusterCa> cluster_ca_;
  ca::InMemoryNodeAuthorizer authorizer_;
  std::unique_ptr<grpc::Service> service_;
  std::string target_;
  std::unique_ptr<grpc::Server> server_;
};

class CaIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(RunShell("openssl version").exit_code, 0) << "the openssl binary is required";
    server_ = std::make_unique<CaServer>(tmp_.path(), tmp_.File("ca"));
  }

  void ExpectFetchRefused(caclient::CaClient& client, const identity::SpiffeId& id, ErrorCode code,
                          std::string_view fragment) {
    auto r = client.Fetch(id);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), code) << r.error().ToString();
    EXPECT_NE(r.error().ToString().find(fragment), std::string::npos) << r.error().ToString();
  }

  // A raw CreateCertificate call, for requests the real client never sends.
  grpc::Status RawCall(const std::string& token, const std::string& csr, const std::string& impersonate,
                       int64_t validity = 0) {
    auto stub = istio::v1::auth::IstioCertificateService::NewStub(
        grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
    istio::v1::auth::IstioCertificateRequest request;
    request.set_csr(csr);
    request.set_validity_duration(validity);
    if (!impersonate.empty()) {
      (*request.mutable_metadata()->mutable_fields())["ImpersonatedIdentity"].set_string_value(impersonate);
    }
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    istio::v1::auth::IstioCertificateResponse response;
    return stub->CreateCertificate(&context, request, &response);
  }

  static void ExpectStatus(const grpc::Status& st, grpc::StatusCode code, std::string_view fragment) {
    EXPECT_EQ(st.error_code(), code) << st.error_message();
    EXPECT_NE(st.error_message().find(fragment), std::string::npos) << st.error_message();
  }

  testing::TempDir tmp_;
  std::unique_ptr<CaServer> server_;
};

TEST_F(CaIntegrationTest, IssuedCertificateVerifiesWithOpenssl) {
  // As ztunnel does: the credential comes from the file the cluster wrote.
  std::string credential = tmp_.File("credential");
  ASSERT_TRUE(server_->cluster_ca().WriteNodeCredential("node-a", credential).ok());
  struct stat st {};
  ASSERT_EQ(::stat(credential.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto client = server_->Client(caclient::FileTokenSource(credential));
  caclient::WorkloadCertificate wc = Must(client->Fetch(kWeb));
  EXPECT_TRUE(wc.chain_pems.empty());
  ASSERT_EQ(wc.root_pems.size(), 1u);
  EXPECT_EQ(wc.not_after - wc.not_before, hours(24) + seconds(60));
  WriteText(tmp_.File("leaf.pem"), wc.leaf_pem);
  WriteText(tmp_.File("root.pem"), Join(wc.root_pems));
  // Self-signed CA: no intermediates; -untrusted gets the (empty of intermediates) leaf-only chain.
  WriteText(tmp_.File("chain.pem"), wc.leaf_pem + Join(wc.chain_pems));

  CommandResult verify = RunShell("openssl verify -CAfile " + tmp_.File("root.pem") + " -untrusted " +
                             tmp_.File("chain.pem") + " " + tmp_.File("leaf.pem"));
  EXPECT_EQ(verify.exit_code, 0) << verify.output;

  CommandResult text = RunShell("openssl x509 -noout -text -in " + tmp_.File("leaf.pem"));
  ASSERT_EQ(text.exit_code, 0) << text.output;
  EXPECT_NE(text.output.find("X509v3 Subject Alternative Name: critical"), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("URI:spiffe://cluster.local/ns/default/sa/web"), std::string::npos);
  EXPECT_NE(text.output.find("TLS Web Server Authentication, TLS Web Client Authentication"),
            std::string::npos);
  EXPECT_NE(text.output.find("CA:FALSE"), std::string::npos);

  // The same leaf must not verify against an unrelated root (the check can fail).
  testing::TempDir other;
  CaServer other_server(other.path(), other.File("ca"));
  WriteText(tmp_.File("other-root.pem"), other_server.ca().roots_pem());
  CommandResult wrong = RunShell("openssl verify -CAfile " + tmp_.File("other-root.pem") + " " +
                            tmp_.File("leaf.pem"));
  EXPECT_NE(wrong.exit_code, 0) << wrong.output;
}

TEST_F(CaIntegrationTest, ConcurrentFetchesAllSucceedWithDistinctSerials) {
  auto client = server_->Client(server_->Token("node-a"));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 4;
  std::vector<std::string> leaves(kThreads * kPerThread);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto wc = client->Fetch(kWeb);
        if (!wc.ok()) {
          failures.fetch_add(1);
          continue;
        }
        leaves[static_cast<size_t>(t * kPerThread + i)] = wc->leaf_pem;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  std::set<std::string> serials;
  for (const auto& pem : leaves) {
    ASSERT_FALSE(pem.empty());
    auto leaf = Must(pki::CertFromPem(pem));
    serials.insert(Must(pki::CertSerialHex(leaf.get())));
  }
  EXPECT_EQ(serials.size(), leaves.size());
}

TEST_F(CaIntegrationTest, RefusesNodeWithoutThePod) {
  auto client = server_->Client(server_->Token("node-b"));
  ExpectFetchRefused(*client, kWeb, ErrorCode::kPermissionDenied,
                     "node 'node-b' runs no pod with identity spiffe://cluster.local/ns/default/sa/web");
}

TEST_F(CaIntegrationTest, RefusesForeignTrustDomain) {
  auto client = server_->Client(server_->Token("node-a"));
  ExpectFetchRefused(*client, identity::SpiffeId("other.domain", "default", "web"),
                     ErrorCode::kPermissionDenied, "this CA signs only for 'cluster.local'");
}

TEST_F(CaIntegrationTest, RefusesExpiredCredential) {
  ca::NodeCredentialIssuer issuer(kCluster, Must(ca::LoadOrCreateNodeCredentialSecret(tmp_.File("ca"))));
  auto expired = Must(issuer.Issue("node-a", std::chrono::system_clock::now() - seconds(5)));
  ExpectFetchRefused(*server_->Client(expired), kWeb, ErrorCode::kUnauthenticated,
                     "credential of node 'node-a' expired at");
}

TEST_F(CaIntegrationTest, RefusesCredentialOfAnotherCluster) {
  ca::NodeCredentialIssuer foreign("c2", std::string(32, 'z'));
  ExpectFetchRefused(*server_->Client(Must(foreign.Issue("node-a"))), kWeb,
                     ErrorCode::kUnauthenticated, "issued by another cluster ('c2'");
  // Same cluster name, different secret.
  ca::NodeCredentialIssuer impostor(kCluster, std::string(32, 'z'));
  ExpectFetchRefused(*server_->Client(Must(impostor.Issue("node-a"))), kWeb,
                     ErrorCode::kUnauthenticated, "signature does not verify");
}

TEST_F(CaIntegrationTest, RefusesMissingCredential) {
  auto stub = istio::v1::auth::IstioCertificateService::NewStub(
      grpc::CreateChannel(server_->target(), grpc::InsecureChannelCredentials()));
  istio::v1::auth::IstioCertificateRequest request;
  grpc::ClientContext context;
  istio::v1::auth::IstioCertificateResponse response;
  ExpectStatus(stub->CreateCertificate(&context, request, &response),
               grpc::StatusCode::UNAUTHENTICATED, "missing 'authorization: Bearer");
}

TEST_F(CaIntegrationTest, RefusesMalformedCsr) {
  std::string token = server_->Token("node-a");
  ExpectStatus(RawCall(token, "this is not a CSR", kWeb.ToString()),
               grpc::StatusCode::INVALID_ARGUMENT, "CSR: not PEM");
  auto key = Must(pki::GenerateEcP256Key());
  std::string csr = Must(pki::BuildCsrPem(key.get(), kWeb.ToString()));
  std::string truncated = csr.substr(0, csr.size() / 2) + "\n-----END CERTIFICATE REQUEST-----\n";
  ExpectStatus(RawCall(token, truncated, kWeb.ToString()), grpc::StatusCode::INVALID_ARGUMENT, "CSR:");
}

TEST_F(CaIntegrationTest, RefusesCsrWhoseSanDiffers) {
  auto key = Must(pki::GenerateEcP256Key());
  std::string csr = Must(pki::BuildCsrPem(key.get(), "spiffe://cluster.local/ns/default/sa/db"));
  ExpectStatus(RawCall(server_->Token("node-a"), csr, kWeb.ToString()),
               grpc::StatusCode::INVALID_ARGUMENT,
               "CSR: URI SAN 'spiffe://cluster.local/ns/default/sa/db' differs from the requested "
               "identity 'spiffe://cluster.local/ns/default/sa/web'");
}

TEST_F(CaIntegrationTest, RefusesBadValidity) {
  auto key = Must(pki::GenerateEcP256Key());
  std::string csr = Must(pki::BuildCsrPem(key.get(), kWeb.ToString()));
  std::string token = server_->Token("node-a");
  ExpectStatus(RawCall(token, csr, kWeb.ToString(), -1), grpc::StatusCode::INVALID_ARGUMENT, "negative");
  ExpectStatus(RawCall(token, csr, kWeb.ToString(), 100LL * 24 * 3600),
               grpc::StatusCode::INVALID_ARGUMENT, "exceeds the maximum");
  EXPECT_TRUE(RawCall(token, csr, kWeb.ToString(), 3600).ok());
}

// An external CA made with the openssl CLI: root -> intermediate; the
// intermediate is plugged in and issued leaves verify against the root alone.
TEST(PluggedInCaIntegrationTest, IntermediateFromOpensslCli) {
  ASSERT_EQ(RunShell("openssl version").exit_code, 0) << "the openssl binary is required";
  testing::TempDir tmp;
  std::string ext = tmp.File("ext");
  ASSERT_EQ(::mkdir(ext.c_str(), 0700), 0);
  WriteText(ext + "/openssl.cnf",
            "[req]\ndistinguished_name = dn\nprompt = no\n"
            "[dn]\nO = External Corp\nCN = External Root\n"
            "[v3_root]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
            "subjectKeyIdentifier = hash\n"
            "[v3_inter]\nbasicConstraints = critical,CA:TRUE,pathlen:0\n"
            "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
            "authorityKeyIdentifier = keyid:always\n");
  const std::string cnf = " -config " + ext + "/openssl.cnf";
  const std::string p256 = " -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  CommandResult r = RunShell("openssl req -x509" + cnf + " -extensions v3_root" + p256 + " -days 30 -keyout " +
                        ext + "/root-key.pem -out " + ext + "/root-cert.pem");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunShell("openssl req -new" + cnf + p256 + " -subj '/O=External Corp/CN=Mesh Intermediate' -keyout " +
          ext + "/ca-key.pem -out " + ext + "/ca.csr");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = RunShell("openssl x509 -req -in " + ext + "/ca.csr -CA " + ext + "/root-cert.pem -CAkey " + ext +
          "/root-key.pem -set_serial 4242 -days 30 -extfile " + ext + "/openssl.cnf -extensions v3_inter -out " +
          ext + "/ca-cert.pem");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  // Istio's plugged-in layout; the root key stays with the external CA.
  std::string ca_dir = tmp.File("ca");
  ASSERT_EQ(::mkdir(ca_dir.c_str(), 0700), 0);
  std::string inter_pem = Must(pki::ReadFileToString(ext + "/ca-cert.pem"));
  std::string root_pem = Must(pki::ReadFileToString(ext + "/root-cert.pem"));
  WriteText(ca_dir + "/ca-cert.pem", inter_pem);
  ASSERT_TRUE(pki::WriteFileAtomically(ca_dir + "/ca-key.pem",
                                       Must(pki::ReadFileToString(ext + "/ca-key.pem")), 0600)
                  .ok());
  WriteText(ca_dir + "/root-cert.pem", root_pem);
  WriteText(ca_dir + "/cert-chain.pem", inter_pem + root_pem);

  CaServer server(tmp.path(), ca_dir);
  EXPECT_TRUE(server.ca().plugged_in());
  caclient::WorkloadCertificate wc = Must(server.Client(server.Token("node-a"))->Fetch(kWeb));
  ASSERT_EQ(wc.chain_pems.size(), 1u);
  ASSERT_EQ(wc.root_pems.size(), 1u);
  WriteText(tmp.File("leaf.pem"), wc.leaf_pem);
  WriteText(tmp.File("chain.pem"), Join(wc.chain_pems));

  r = RunShell("openssl verify -CAfile " + ext + "/root-cert.pem -untrusted " + tmp.File("chain.pem") + " " +
          tmp.File("leaf.pem"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  // Without the intermediate the leaf does not verify against the root.
  r = RunShell("openssl verify -CAfile " + ext + "/root-cert.pem " + tmp.File("leaf.pem"));
  EXPECT_NE(r.exit_code, 0) << r.output;
  r = RunShell("openssl x509 -noout -issuer -in " + tmp.File("leaf.pem"));
  EXPECT_NE(r.output.find("Mesh Intermediate"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ambit
