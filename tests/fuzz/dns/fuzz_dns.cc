// Fuzzes the DNS codec with untrusted messages as the proxy sees them: a query
// from a pod (parse, decide against a small snapshot, build the reply for UDP
// and TCP limits) and an upstream response (match, adapt, full parse).
// Invariants checked: a built reply parses back, echoes the id and question,
// respects the UDP limit; names read back encode to the same lookup form.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "dns/message.h"
#include "dns/resolver.h"
#include "state/ip_bytes.h"

namespace {

using namespace ambit;

const dns::NameTable& Names() {
  static const auto* state = [] {
    state::WorkloadState::Contents c;
    auto svc = std::make_shared<state::Service>();
    svc->name = "web";
    svc->ns = "ns";
    svc->hostname = "web.ns.svc.cluster.local";
    svc->vips = {{"", state::PackIp("10.96.0.11").value()}, {"", state::PackIp("fd00::11").value()}};
    c.services[svc->Key()] = svc;
    auto wild = std::make_shared<state::Service>();
    wild->name = "wild";
    wild->ns = "ns";
    wild->hostname = "*.example.com";
    wild->vips = {{"", state::PackIp("240.240.0.1").value()}};
    c.services[wild->Key()] = wild;
    return new state::WorkloadState(std::move(c));
  }();
  static const auto* table = new dns::NameTable(*state);
  return *table;
}

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> wire(data, size);
  auto query = dns::ParseQuery(wire);
  if (query.ok()) {
    // Lookup-form names re-encode (escapes included) and read back the same.
    auto encoded = dns::EncodeName(query->question.name);
    Check(encoded.ok());
    std::vector<uint8_t> bytes(encoded->begin(), encoded->end());
    std::size_t at = 0;
    auto back = dns::ReadName(bytes, &at);
    Check(back.ok() && *back == query->question.name && at == bytes.size());

    const dns::Decision d = dns::Resolve(query->question, dns::Client{"ns", ""}, Names(), dns::ResolverSettings{});
    dns::Reply reply = d.reply;
    if (d.kind == dns::Decision::Kind::kForward) reply.rcode = dns::kRcodeServFail;
    for (const std::size_t limit : {dns::UdpLimit(*query), dns::kMaxMessage}) {
      auto built = dns::BuildReply(*query, reply, limit);
      Check(built.ok());
      Check(built->size() <= limit || reply.answers.empty());
      auto parsed = dns::ParseMessage(*built);
      Check(parsed.ok());
      Check(parsed->header.id == query->header.id && parsed->header.qr);
      Check(parsed->questions.size() == 1 && parsed->questions[0].wire_name == query->question.wire_name);
    }
    // The input as if it were an upstream's answer to itself.
    if (dns::CheckResponseMatches(*query, query->header.id, wire).ok()) {
      auto adapted = dns::AdaptUpstreamResponse(*query, wire, dns::UdpLimit(*query));
      Check(adapted.ok());
      Check(adapted->size() <= std::max(size, dns::UdpLimit(*query)));
    }
  }
  auto message = dns::ParseMessage(wire);
  if (message.ok()) {
    Check(message->questions.size() == message->header.qdcount);
    Check(message->answers.size() == message->header.ancount);
  }
  (void)dns::ParseHeader(wire);
  return 0;
}
