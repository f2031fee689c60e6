// DNS messages on the wire (RFC 1035 §4, EDNS(0) per RFC 6891): the parts a
// node-local DNS proxy needs. Pure functions over byte spans, no I/O.
//
// Parsing treats its input as hostile: every read is bounds-checked, a name is
// at most 255 octets on the wire (RFC 1035 §2.3.4) with labels of at most 63,
// a compression pointer must point strictly before the label that holds it (so
// pointer chains always end, RFC 1035 §4.1.4), section counts are checked
// against the bytes actually present, and trailing bytes are an error.
//
// Names are handled in two forms: the wire form (length-prefixed labels,
// uncompressed, case as received, ending with the root label) and a lookup
// form: lower-cased ASCII, labels joined by '.', no trailing dot ("" is the
// root). Label bytes that would be ambiguous in the lookup form ('.', '\\',
// bytes outside printable ASCII) are written as \DDD, so such names never match
// a hostname.
//
// Thread-compatible value types.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ambit::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kTypeOpt = 41;
inline constexpr uint16_t kClassIn = 1;

inline constexpr uint8_t kOpcodeQuery = 0;

inline constexpr uint8_t kRcodeNoError = 0;
inline constexpr uint8_t kRcodeFormErr = 1;
inline constexpr uint8_t kRcodeServFail = 2;
inline constexpr uint8_t kRcodeNxDomain = 3;
inline constexpr uint8_t kRcodeNotImp = 4;
inline constexpr uint8_t kRcodeRefused = 5;
inline constexpr uint16_t kRcodeBadVers = 16;  // extended (RFC 6891 §9)

inline constexpr std::size_t kHeaderSize = 12;
// The largest UDP answer for a query without EDNS(0) (RFC 1035 §4.2.1), and the
// floor for an advertised EDNS(0) size (RFC 6891 §6.2.5).
inline constexpr std::size_t kClassicUdpLimit = 512;
// The UDP payload size this proxy advertises and accepts (DNS Flag Day 2020).
inline constexpr uint16_t kAdvertisedUdpSize = 1232;
inline constexpr std::size_t kMaxMessage = 65535;
inline constexpr std::size_t kMaxNameWire = 255;
inline constexpr std::size_t kMaxLabel = 63;

struct Header {
  uint16_t id = 0;
  bool qr = false;
  uint8_t opcode = 0;
  bool aa = false;
  bool tc = false;
  bool rd = false;
  bool ra = false;
  bool ad = false;
  bool cd = false;
  uint8_t rcode = 0;  // low 4 bits
  uint16_t qdcount = 0;
  uint16_t ancount = 0;
  uint16_t nscount = 0;
  uint16_t arcount = 0;
};

// Reads the 12-byte header. Fails when fewer bytes are given.
Result<Header> ParseHeader(std::span<const uint8_t> wire);
void WriteHeader(const Header& h, std::vector<uint8_t>* out);

struct Question {
  std::string wire_name;  // uncompressed wire form, case as received
  std::string name;       // lookup form (lower case, no trailing dot)
  uint16_t type = 0;
  uint16_t klass = 0;
};

// The EDNS(0) OPT pseudo-record of a message, when present.
struct Edns {
  uint16_t udp_size = 0;    // as advertised (may be below 512)
  uint8_t version = 0;
  uint8_t extended_rcode = 0;
  bool dnssec_ok = false;
};

// A parsed query: exactly one question, no answer records.
struct Query {
  Header header;
  Question question;
  std::optional<Edns> edns;
};

// Parses a query. Errors: truncated/malformed input, QR set, qdcount != 1,
// answers present, more than one OPT record, or an OPT record not owned by the
// root. The caller answers FORMERR when the header at least was readable.
Result<Query> ParseQuery(std::span<const uint8_t> wire);

// One resource record of a parsed message (names decompressed).
struct Record {
  std::string name;  // lookup form
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  // For A/AAAA: the raw address bytes; for CNAME: the target in lookup form;
  // otherwise the raw RDATA bytes.
  std::string data;
};

struct Message {
  Header header;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authority;
  std::vector<Record> additional;  // without the OPT record
  std::optional<Edns> edns;
};

// Parses any message (queries and responses), every section.
Result<Message> ParseMessage(std::span<const uint8_t> wire);

// Reads a possibly compressed name at |*offset| of |wire| and advances the
// offset past it. Returns the lookup form; |wire_name|, when given, receives
// the uncompressed wire form.
Result<std::string> ReadName(std::span<const uint8_t> wire, std::size_t* offset,
                             std::string* wire_name = nullptr);

// The wire form of a lookup-form name (\DDD escapes decoded). Fails on an
// empty label, a label over 63 octets or a name over 255.
Result<std::string> EncodeName(std::string_view name);

// Whether two lookup-form names are equal (they are lower case already).
inline bool SameName(std::string_view a, std::string_view b) { return a == b; }

// An answer record to write: owner in lookup form, RDATA ready (A: 4 bytes,
// AAAA: 16, CNAME: the target's lookup form, encoded when written).
struct AnswerRecord {
  std::string owner;
  uint16_t type = kTypeA;
  uint32_t ttl = 0;
  std::string data;
  friend bool operator==(const AnswerRecord&, const AnswerRecord&) = default;
};

// What the proxy answers by itself.
struct Reply {
  uint16_t rcode = kRcodeNoError;  // may be extended (BADVERS)
  bool authoritative = false;
  std::vector<AnswerRecord> answers;
};

// The UDP answer size |query|'s sender accepts: 512 without EDNS(0), else the
// advertised size, at least 512.
std::size_t UdpLimit(const Query& query);

// Builds the response to |query|: its id, opcode, RD and CD echoed; QR and RA
// set; the question as received; |reply|'s records (owners equal to the
// question name are compressed to point at it); an OPT record when the query
// had one. When the result would exceed |limit| bytes (UdpLimit for UDP,
// kMaxMessage for TCP) the answer records are left out and TC is set (RFC 2181
// §9: no partial RRsets). Fails only if a record cannot be encoded.
Result<std::vector<uint8_t>> BuildReply(const Query& query, const Reply& reply, std::size_t limit);

// A header-only error response (FORMERR, NOTIMP, SERVFAIL...) to a message
// whose header was readable: id and opcode echoed, no sections.
std::vector<uint8_t> BuildHeaderOnlyError(const Header& request, uint8_t rcode);

// Adapts an upstream |response| (already checked to answer |query|) for the
// client: the client's id; unchanged if it fits |limit|; otherwise truncated to
// header + question (+ OPT when the query had EDNS) with TC set, so the client
// retries over TCP. Fails when |response| is not a readable message.
Result<std::vector<uint8_t>> AdaptUpstreamResponse(const Query& query,
                                                   std::span<const uint8_t> response,
                                                   std::size_t limit);

// Checks that |response| is a response to |query| sent with id |sent_id|: QR
// set, same id, one question with the same name (case-insensitively), type and
// class. Returns the parsed header.
Result<Header> CheckResponseMatches(const Query& query, uint16_t sent_id,
                                    std::span<const uint8_t> response);

// A query for |name| (lookup form) and |type| with id |id|, RD set, with an
// EDNS(0) OPT record advertising kAdvertisedUdpSize.
Result<std::vector<uint8_t>> BuildQuery(uint16_t id, std::string_view name, uint16_t type);

// Copy of |wire| with its id replaced (|wire| must hold a header).
std::vector<uint8_t> WithId(std::span<const uint8_t> wire, uint16_t id);

}  // namespace ambit::dns
