#include "ca/ca_request_handler.h"

#include <gtest/gtest.h>

#include "ca_test_util.h"
#include "support/temp_dir.h"

namespace ambit::ca {
namespace {

using testing::Must;

const identity::SpiffeId kWeb("cluster.local", "default", "web");
const std::string kSecret(32, 'k');

class CaRequestHandlerTest : public ::testing::Test {
 protected:
  CaRequestHandlerTest()
      : ca_(Must(CertificateAuthority::LoadOrCreateSelfSigned(tmp_.path(), {}))),
        issuer_("c1", kSecret),
        verifier_("c1", kSecret),
        handler_(*ca_, verifier_, authorizer_) {
    authorizer_.Add("node-a", kWeb);
  }

  CaRequest Request(const std::string& node, const identity::SpiffeId& id) {
    CaRequest req;
    req.authorization.push_back("Bearer " + Must(issuer_.Issue(node)));
    req.csr = testing::CsrFor(id.ToString());
    req.impersonated_identity = id.ToString();
    return req;
  }

  void ExpectRefused(const CaRequest& req, ErrorCode code, std::string_view fragment) {
    auto r = handler_.Handle(req);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), code) << r.error().ToString();
    EXPECT_NE(r.error().ToString().find(fragment), std::string::npos) << r.error().ToString();
  }

  ambit::testing::TempDir tmp_;
  std::unique_ptr<CertificateAuthority> ca_;
  NodeCredentialIssuer issuer_;
  NodeCredentialVerifier verifier_;
  InMemoryNodeAuthorizer authorizer_;
  CaRequestHandler handler_;
};

TEST_F(CaRequestHandlerTest, IssuesForPodOnNode) {
  auto r = handler_.Handle(Request("node-a", kWeb));
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->node, "node-a");
  EXPECT_EQ(r->identity, kWeb.ToString());
  EXPECT_EQ(r->cert_chain.size(), 2u);
}

TEST_F(CaRequestHandlerTest, WithoutImpersonationUsesCsrSan) {
  CaRequest req = Request("node-a", kWeb);
  req.impersonated_identity.reset();
  auto r = handler_.Handle(req);
  ASSERT_TRUE(r.ok()) << r.error().ToString();
  EXPECT_EQ(r->identity, kWeb.ToString());
  // ...and still requires the pod to be on the node.
  identity::SpiffeId db("cluster.local", "default", "db");
  CaRequest other = Request("node-a", db);
  other.impersonated_identity.reset();
  ExpectRefused(other, ErrorCode::kPermissionDenied, "runs no pod with identity");
}

TEST_F(CaRequestHandlerTest, Authentication) {
  CaRequest req = Request("node-a", kWeb);
  req.authorization.clear();
  ExpectRefused(req, ErrorCode::kUnauthenticated, "missing 'authorization");
  req.authorization = {"Basic abc"};
  ExpectRefused(req, ErrorCode::kUnauthenticated, "must be 'Bearer");
  req.authorization = {"Bearer a", "Bearer b"};
  ExpectRefused(req, ErrorCode::kUnauthenticated, "more than one");
  req.authorization = {"bearer " + Must(issuer_.Issue("node-a"))};  // scheme is case-insensitive
  EXPECT_TRUE(handler_.Handle(req).ok());
  req.authorization = {"Bearer " + Must(issuer_.Issue("node-a", std::chrono::system_clock::now() -
                                                                      std::chrono::seconds(1)))};
  ExpectRefused(req, ErrorCode::kUnauthenticated, "expired");
  NodeCredentialIssuer foreign("c2", std::string(32, 'x'));
  req.authorization = {"Bearer " + Must(foreign.Issue("node-a"))};
  ExpectRefused(req, ErrorCode::kUnauthenticated, "another cluster");
}

TEST_F(CaRequestHandlerTest, Authorization) {
  ExpectRefused(Request("node-b", kWeb), ErrorCode::kPermissionDenied,
                "node 'node-b' runs no pod with identity spiffe://cluster.local/ns/default/sa/web");
  ExpectRefused(Request("node-a", identity::SpiffeId("evil.td", "default", "web")),
                ErrorCode::kPermissionDenied, "trust domain 'evil.td'");
}

TEST_F(CaRequestHandlerTest, BadRequests) {
  CaRequest req = Request("node-a", kWeb);
  req.csr = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
  ExpectRefused(req, ErrorCode::kInvalidArgument, "CSR:");

  req = Request("node-a", kWeb);
  req.csr = testing::CsrFor("spiffe://cluster.local/ns/default/sa/db");
  ExpectRefused(req, ErrorCode::kInvalidArgument, "differs from the requested identity");

  req = Request("node-a", kWeb);
  req.validity_seconds = -5;
  ExpectRefused(req, ErrorCode::kInvalidArgument, "negative");
  req.validity_seconds = 91LL * 24 * 3600;
  ExpectRefused(req, ErrorCode::kInvalidArgument, "exceeds the maximum");

  req = Request("node-a", kWeb);
  req.impersonated_identity = "not-a-spiffe-id";
  ExpectRefused(req, ErrorCode::kInvalidArgument, "ImpersonatedIdentity");
  req.impersonated_identity.reset();
  req.impersonated_identity_wrong_type = true;
  ExpectRefused(req, ErrorCode::kInvalidArgument, "must be a string");
}

}  // namespace
}  // namespace ambit::ca
