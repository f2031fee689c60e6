// Fuzzes the DNS codec with untrusted messages as the proxy sees them: a query
// from a pod (parse, build a reply with records for UDP and TCP limits) and an
// upstream response (match, adapt, full parse).
// Invariants checked: a built reply parses back, echoes the id and question,
// respects the UDP limit; names read back encode to the same lookup form.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>

#include "dns/message.h"

namespace {

using namespace ambit;

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

    // A reply as the proxy makes them: a CNAME to a name derived from the
    // question and as many address records as the input's length suggests.
    dns::Reply reply;
    reply.authoritative = true;
    const std::string target = query->question.name.empty() ? "a.b" : "x." + query->question.name.substr(0, 200);
    if (dns::EncodeName(target).ok()) {
      reply.answers.push_back({query->question.name, dns::kTypeCname, 30, target});
      for (std::size_t i = 0; i < size % 64; ++i) {
        reply.answers.push_back({target, dns::kTypeA, 30, std::string{10, 0, 0, static_cast<char>(i)}});
      }
    }
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
