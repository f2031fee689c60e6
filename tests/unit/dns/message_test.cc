#include "dns/message.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace ambit::dns {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes Query(std::string_view name, uint16_t type, uint16_t id = 0x1234, std::optional<uint16_t> edns = std::nullopt) {
  Header h;
  h.id = id;
  h.rd = true;
  h.qdcount = 1;
  h.arcount = edns ? 1 : 0;
  Bytes out;
  WriteHeader(h, &out);
  const std::string wire = EncodeName(name).value();
  out.insert(out.end(), wire.begin(), wire.end());
  out.push_back(static_cast<uint8_t>(type >> 8));
  out.push_back(static_cast<uint8_t>(type));
  out.push_back(0);
  out.push_back(1);
  if (edns) {
    const uint8_t opt[] = {0, 0, 41, static_cast<uint8_t>(*edns >> 8), static_cast<uint8_t>(*edns), 0, 0, 0, 0, 0, 0};
    out.insert(out.end(), std::begin(opt), std::end(opt));
  }
  return out;
}

TEST(DnsMessage, ParsesAQueryWithEdns) {
  const Bytes wire = Query("Web.NS.svc.cluster.local", kTypeA, 0xbeef, 4096);
  auto q = ParseQuery(wire);
  ASSERT_TRUE(q.ok()) << q.error().ToString();
  EXPECT_EQ(q->header.id, 0xbeef);
  EXPECT_TRUE(q->header.rd);
  EXPECT_EQ(q->question.name, "web.ns.svc.cluster.local");
  EXPECT_EQ(q->question.type, kTypeA);
  EXPECT_EQ(q->question.klass, kClassIn);
  ASSERT_TRUE(q->edns.has_value());
  EXPECT_EQ(q->edns->udp_size, 4096);
  EXPECT_EQ(UdpLimit(*q), 4096u);
  // The wire name keeps the case it was asked with (0x20 randomisation).
  EXPECT_EQ(q->question.wire_name.substr(0, 4), std::string("\3Web"));
}

TEST(DnsMessage, UdpLimitIs512WithoutEdnsOrWhenAdvertisedBelow) {
  EXPECT_EQ(UdpLimit(ParseQuery(Query("a", kTypeA)).value()), 512u);
  EXPECT_EQ(UdpLimit(ParseQuery(Query("a", kTypeA, 1, 100)).value()), 512u);
}

TEST(DnsMessage, RejectsMalformedQueries) {
  EXPECT_FALSE(ParseQuery(Bytes(11, 0)).ok());  // short header
  Bytes two = Query("a.b", kTypeA);
  two[5] = 2;  // qdcount 2, one present
  EXPECT_FALSE(ParseQuery(two).ok());
  Bytes trailing = Query("a.b", kTypeA);
  trailing.push_back(0);
  EXPECT_FALSE(ParseQuery(trailing).ok());
  Bytes response = Query("a.b", kTypeA);
  response[2] |= 0x80;
  EXPECT_FALSE(ParseQuery(response).ok());
  Bytes none = Query("a.b", kTypeA);
  none[5] = 0;
  EXPECT_FALSE(ParseQuery(none).ok());
}

TEST(DnsMessage, CompressionPointersMustPointBackwards) {
  // Header + a question whose name is a pointer to itself (offset 12).
  Bytes loop = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  auto q = ParseQuery(loop);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message().find("backwards"), std::string::npos);
  // Two pointers pointing at each other.
  Bytes pair = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12, 0, 1, 0, 1};
  EXPECT_FALSE(ParseQuery(pair).ok());
}

TEST(DnsMessage, NamesAreBounded) {
  EXPECT_FALSE(EncodeName(std::string(64, 'a')).ok());
  EXPECT_TRUE(EncodeName(std::string(63, 'a')).ok());
  std::string long_name;
  for (int i = 0; i < 5; ++i) long_name += std::string(60, 'a') + ".";
  EXPECT_FALSE(EncodeName(long_name).ok());  // 5 * 61 + 1 > 255
  EXPECT_FALSE(EncodeName("a..b").ok());
  // A wire name built of pointers and labels that exceeds 255 octets.
  Bytes wire = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < 5; ++i) {
    wire.push_back(60);
    wire.insert(wire.end(), 60, 'a');
  }
  wire.insert(wire.end(), {0, 0, 1, 0, 1});
  EXPECT_FALSE(ParseQuery(wire).ok());
}

TEST(DnsMessage, EscapesAmbiguousLabelBytes) {
  Bytes wire = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 0, 0, 1, 0, 1};
  auto q = ParseQuery(wire);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->question.name, "a\\046b");
  EXPECT_EQ(EncodeName(q->question.name).value(), std::string("\3a.b\0", 5));
}

TEST(DnsMessage, BuildsAnAuthoritativeAnswerEchoingTheQuestion) {
  const Bytes wire = Query("Web.ns", kTypeA, 0x4242, 1232);
  const auto q = ParseQuery(wire).value();
  Reply reply;
  reply.authoritative = true;
  reply.answers.push_back({"web.ns", kTypeCname, 30, "web.ns.svc.cluster.local"});
  reply.answers.push_back({"web.ns.svc.cluster.local", kTypeA, 30, std::string("\x0a\x60\x00\x0b", 4)});
  const Bytes out = BuildReply(q, reply, UdpLimit(q)).value();
  auto m = ParseMessage(out);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->header.id, 0x4242);
  EXPECT_TRUE(m->header.qr);
  EXPECT_TRUE(m->header.aa);
  EXPECT_TRUE(m->header.rd);
  EXPECT_TRUE(m->header.ra);
  EXPECT_FALSE(m->header.tc);
  EXPECT_EQ(m->header.rcode, kRcodeNoError);
  ASSERT_EQ(m->questions.size(), 1u);
  EXPECT_EQ(m->questions[0].wire_name, q.question.wire_name);  // case preserved
  ASSERT_EQ(m->answers.size(), 2u);
  EXPECT_EQ(m->answers[0].name, "web.ns");
  EXPECT_EQ(m->answers[0].type, kTypeCname);
  EXPECT_EQ(m->answers[0].data, "web.ns.svc.cluster.local");
  EXPECT_EQ(m->answers[0].ttl, 30u);
  EXPECT_EQ(m->answers[1].name, "web.ns.svc.cluster.local");
  EXPECT_EQ(m->answers[1].data, std::string("\x0a\x60\x00\x0b", 4));
  ASSERT_TRUE(m->edns.has_value());
  EXPECT_EQ(m->edns->udp_size, kAdvertisedUdpSize);
}

TEST(DnsMessage, NodataIsNoErrorWithoutRecords) {
  const auto q = ParseQuery(Query("web", kTypeAaaa)).value();
  Reply reply;
  reply.authoritative = true;
  auto m = ParseMessage(BuildReply(q, reply, 512).value()).value();
  EXPECT_EQ(m.header.rcode, kRcodeNoError);
  EXPECT_EQ(m.answers.size(), 0u);
  EXPECT_TRUE(m.header.aa);
  EXPECT_FALSE(m.edns.has_value());  // none asked, none sent
}

TEST(DnsMessage, OversizedUdpAnswerIsTruncatedWithoutRecords) {
  const auto q = ParseQuery(Query("big.example", kTypeA)).value();
  Reply reply;
  for (int i = 0; i < 40; ++i) {
    reply.answers.push_back({"big.example", kTypeA, 30, std::string{10, 0, 0, static_cast<char>(i)}});
  }
  const Bytes udp = BuildReply(q, reply, UdpLimit(q)).value();
  ASSERT_LE(udp.size(), 512u);
  auto m = ParseMessage(udp).value();
  EXPECT_TRUE(m.header.tc);
  EXPECT_EQ(m.answers.size(), 0u);
  EXPECT_EQ(m.questions.size(), 1u);
  // The same reply fits a TCP message whole.
  auto full = ParseMessage(BuildReply(q, reply, kMaxMessage).value()).value();
  EXPECT_FALSE(full.header.tc);
  EXPECT_EQ(full.answers.size(), 40u);
}

TEST(DnsMessage, BadVersIsAnExtendedRcodeInTheOptRecord) {
  const auto q = ParseQuery(Query("a", kTypeA, 7, 1232)).value();
  Reply reply;
  reply.rcode = kRcodeBadVers;
  auto m = ParseMessage(BuildReply(q, reply, 512).value()).value();
  EXPECT_EQ(m.header.rcode, 0);
  ASSERT_TRUE(m.edns.has_value());
  EXPECT_EQ(m.edns->extended_rcode, 1);
}

TEST(DnsMessage, UpstreamResponsesMustMatchTheQuestion) {
  const auto q = ParseQuery(Query("ext.test", kTypeA)).value();
  Reply reply;
  reply.answers.push_back({"ext.test", kTypeA, 60, std::string{1, 2, 3, 4}});
  Bytes good = BuildReply(q, reply, 512).value();
  EXPECT_FALSE(CheckResponseMatches(q, 0x9999, good).ok());  // id differs
  Bytes renumbered = WithId(good, 0x9999);
  EXPECT_TRUE(CheckResponseMatches(q, 0x9999, renumbered).ok());
  const auto other = ParseQuery(Query("other.test", kTypeA)).value();
  EXPECT_FALSE(CheckResponseMatches(other, 0x1234, good).ok());
  // The client gets its own id back; big answers become TC for UDP.
  const Bytes adapted = AdaptUpstreamResponse(q, renumbered, 512).value();
  EXPECT_EQ(adapted, good);
  const Bytes cut = AdaptUpstreamResponse(q, renumbered, 20).value();
  auto m = ParseMessage(cut).value();
  EXPECT_TRUE(m.header.tc);
  EXPECT_EQ(m.header.id, 0x1234);
  EXPECT_EQ(m.answers.size(), 0u);
}

TEST(DnsMessage, ParsesCompressedResponses) {
  // A response whose answer owner and CNAME target point at the question.
  Bytes wire = {0, 9, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0};
  const std::string name = EncodeName("www.example.com").value();
  wire.insert(wire.end(), name.begin(), name.end());
  wire.insert(wire.end(), {0, 5, 0, 1});
  // www.example.com CNAME example.com (pointer to offset 16 = "example")
  wire.insert(wire.end(), {0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 16});
  wire.insert(wire.end(), {0xc0, 16, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 9, 9, 9, 9});
  auto m = ParseMessage(wire);
  ASSERT_TRUE(m.ok()) << m.error().ToString();
  EXPECT_EQ(m->answers[0].data, "example.com");
  EXPECT_EQ(m->answers[1].name, "example.com");
}

TEST(DnsMessage, BuildsQueries) {
  const Bytes wire = BuildQuery(77, "nginx.outside.test", kTypeAaaa).value();
  auto q = ParseQuery(wire);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->header.id, 77);
  EXPECT_EQ(q->question.name, "nginx.outside.test");
  EXPECT_EQ(q->question.type, kTypeAaaa);
  EXPECT_TRUE(q->edns.has_value());
}

}  // namespace
}  // namespace ambit::dns
