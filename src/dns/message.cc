#include "dns/message.h"

#include <algorithm>
#include <cctype>

namespace ambit::dns {
namespace {

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kInvalidArgument, "malformed DNS message: " + what);
}

uint16_t Get16(std::span<const uint8_t> w, std::size_t at) {
  return static_cast<uint16_t>((w[at] << 8) | w[at + 1]);
}
uint32_t Get32(std::span<const uint8_t> w, std::size_t at) {
  return (static_cast<uint32_t>(Get16(w, at)) << 16) | Get16(w, at + 2);
}
void Put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v & 0xff));
}
void Put32(std::vector<uint8_t>* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}
void PutBytes(std::vector<uint8_t>* out, std::string_view bytes) {
  out->insert(out->end(), bytes.begin(), bytes.end());
}

void AppendLookupByte(std::string* out, uint8_t c) {
  if (c >= 'A' && c <= 'Z') {
    out->push_back(static_cast<char>(c - 'A' + 'a'));
  } else if (c == '.' || c == '\\' || c <= 0x20 || c >= 0x7f) {
    char buf[5] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + (c / 10) % 10),
                   static_cast<char>('0' + c % 10), 0};
    out->append(buf, 4);
  } else {
    out->push_back(static_cast<char>(c));
  }
}

Result<Edns> ReadOpt(const std::string& owner, uint16_t klass, uint32_t ttl) {
  if (!owner.empty()) return Malformed("OPT record not owned by the root");
  Edns e;
  e.udp_size = klass;
  e.extended_rcode = static_cast<uint8_t>(ttl >> 24);
  e.version = static_cast<uint8_t>((ttl >> 16) & 0xff);
  e.dnssec_ok = (ttl & 0x8000) != 0;
  return e;
}

// Reads one resource record at |*offset|.
Result<Record> ReadRecord(std::span<const uint8_t> wire, std::size_t* offset) {
  Record r;
  AMBIT_ASSIGN_OR_RETURN(r.name, ReadName(wire, offset));
  if (wire.size() - *offset < 10) return Malformed("record header truncated");
  r.type = Get16(wire, *offset);
  r.klass = Get16(wire, *offset + 2);
  r.ttl = Get32(wire, *offset + 4);
  const uint16_t rdlength = Get16(wire, *offset + 8);
  *offset += 10;
  if (wire.size() - *offset < rdlength) return Malformed("record data truncated");
  const std::size_t end = *offset + rdlength;
  if (r.type == kTypeCname && r.klass == kClassIn) {
    std::size_t at = *offset;
    AMBIT_ASSIGN_OR_RETURN(r.data, ReadName(wire.first(end), &at));
    if (at != end) return Malformed("CNAME data longer than its name");
  } else {
    if (r.klass == kClassIn && ((r.type == kTypeA && rdlength != 4) || (r.type == kTypeAaaa && rdlength != 16))) {
      return Malformed("address record of " + std::to_string(rdlength) + " bytes");
    }
    r.data.assign(reinterpret_cast<const char*>(wire.data() + *offset), rdlength);
  }
  *offset = end;
  return r;
}

void WriteQuestion(const Question& q, std::vector<uint8_t>* out) {
  PutBytes(out, q.wire_name);
  Put16(out, q.type);
  Put16(out, q.klass);
}

void WriteOpt(std::vector<uint8_t>* out, uint8_t extended_rcode, bool dnssec_ok) {
  out->push_back(0);  // root owner
  Put16(out, kTypeOpt);
  Put16(out, kAdvertisedUdpSize);
  Put32(out, (static_cast<uint32_t>(extended_rcode) << 24) | (dnssec_ok ? 0x8000u : 0u));
  Put16(out, 0);  // no options
}

}  // namespace

Result<Header> ParseHeader(std::span<const uint8_t> wire) {
  if (wire.size() < kHeaderSize) {
    return Malformed("header needs 12 bytes, got " + std::to_string(wire.size()));
  }
  Header h;
  h.id = Get16(wire, 0);
  const uint8_t b2 = wire[2];
  const uint8_t b3 = wire[3];
  h.qr = (b2 & 0x80) != 0;
  h.opcode = static_cast<uint8_t>((b2 >> 3) & 0x0f);
  h.aa = (b2 & 0x04) != 0;
  h.tc = (b2 & 0x02) != 0;
  h.rd = (b2 & 0x01) != 0;
  h.ra = (b3 & 0x80) != 0;
  h.ad = (b3 & 0x20) != 0;
  h.cd = (b3 & 0x10) != 0;
  h.rcode = b3 & 0x0f;
  h.qdcount = Get16(wire, 4);
  h.ancount = Get16(wire, 6);
  h.nscount = Get16(wire, 8);
  h.arcount = Get16(wire, 10);
  return h;
}

void WriteHeader(const Header& h, std::vector<uint8_t>* out) {
  Put16(out, h.id);
  out->push_back(static_cast<uint8_t>((h.qr ? 0x80 : 0) | ((h.opcode & 0x0f) << 3) | (h.aa ? 0x04 : 0) |
                                      (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0)));
  out->push_back(static_cast<uint8_t>((h.ra ? 0x80 : 0) | (h.ad ? 0x20 : 0) | (h.cd ? 0x10 : 0) |
                                      (h.rcode & 0x0f)));
  Put16(out, h.qdcount);
  Put16(out, h.ancount);
  Put16(out, h.nscount);
  Put16(out, h.arcount);
}

Result<std::string> ReadName(std::span<const uint8_t> wire, std::size_t* offset, std::string* wire_name) {
  std::size_t pos = *offset;
  std::size_t segment_start = pos;  // a pointer must point before this
  std::size_t resume = 0;           // offset after the name, once a pointer was followed
  bool jumped = false;
  std::size_t total = 0;  // uncompressed wire length so far
  std::string out;
  bool first = true;
  if (wire_name != nullptr) wire_name->clear();
  for (;;) {
    if (pos >= wire.size()) return Malformed("name runs past the end");
    const uint8_t len = wire[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= wire.size()) return Malformed("compression pointer truncated");
      const std::size_t target = (static_cast<std::size_t>(len & 0x3f) << 8) | wire[pos + 1];
      if (target >= segment_start) return Malformed("compression pointer does not point backwards");
      if (!jumped) resume = pos + 2;
      jumped = true;
      pos = target;
      segment_start = target;
      continue;
    }
    if ((len & 0xc0) != 0) return Malformed("unsupported label type");
    if (len == 0) {
      if (total + 1 > kMaxNameWire) return Malformed("name longer than 255 octets");
      if (wire_name != nullptr) wire_name->push_back('\0');
      *offset = jumped ? resume : pos + 1;
      return out;
    }
    if (pos + 1 + len > wire.size()) return Malformed("label runs past the end");
    total += 1 + len;
    if (total + 1 > kMaxNameWire) return Malformed("name longer than 255 octets");
    if (!first) out.push_back('.');
    first = false;
    for (std::size_t i = 0; i < len; ++i) AppendLookupByte(&out, wire[pos + 1 + i]);
    if (wire_name != nullptr) {
      wire_name->append(reinterpret_cast<const char*>(wire.data() + pos), 1 + len);
    }
    pos += 1 + len;
  }
}

Result<std::string> EncodeName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  std::string out;
  if (name.empty()) return std::string(1, '\0');
  std::string label;
  auto flush = [&]() -> Status {
    if (label.empty()) return Error(ErrorCode::kInvalidArgument, "empty label in name '" + std::string(name) + "'");
    if (label.size() > kMaxLabel) {
      return Error(ErrorCode::kInvalidArgument, "label longer than 63 octets in name '" + std::string(name) + "'");
    }
    out.push_back(static_cast<char>(label.size()));
    out += label;
    label.clear();
    return Ok();
  };
  for (std::size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '.') {
      AMBIT_RETURN_IF_ERROR(flush());
    } else if (c == '\\') {
      if (i + 3 < name.size() && std::isdigit(static_cast<unsigned char>(name[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(name[i + 2])) &&
          std::isdigit(static_cast<unsigned char>(name[i + 3]))) {
        const int v = (name[i + 1] - '0') * 100 + (name[i + 2] - '0') * 10 + (name[i + 3] - '0');
        if (v > 255) return Error(ErrorCode::kInvalidArgument, "bad escape in name '" + std::string(name) + "'");
        label.push_back(static_cast<char>(v));
        i += 3;
      } else if (i + 1 < name.size()) {
        label.push_back(name[++i]);
      } else {
        return Error(ErrorCode::kInvalidArgument, "dangling escape in name '" + std::string(name) + "'");
      }
    } else {
      label.push_back(c);
    }
  }
  AMBIT_RETURN_IF_ERROR(flush());
  out.push_back('\0');
  if (out.size() > kMaxNameWire) {
    return Error(ErrorCode::kInvalidArgument, "name longer than 255 octets: '" + std::string(name) + "'");
  }
  return out;
}

Result<Message> ParseMessage(std::span<const uint8_t> wire) {
  if (wire.size() > kMaxMessage) return Malformed("larger than 65535 bytes");
  Message m;
  AMBIT_ASSIGN_OR_RETURN(m.header, ParseHeader(wire));
  std::size_t at = kHeaderSize;
  // Every question takes at least 5 bytes and every record 11: counts that
  // cannot fit are refused before anything is allocated for them.
  const std::size_t room = wire.size() - kHeaderSize;
  if (m.header.qdcount * 5ull + (m.header.ancount + m.header.nscount + m.header.arcount) * 11ull > room) {
    return Malformed("section counts exceed the message size");
  }
  for (uint16_t i = 0; i < m.header.qdcount; ++i) {
    Question q;
    AMBIT_ASSIGN_OR_RETURN(q.name, ReadName(wire, &at, &q.wire_name));
    if (wire.size() - at < 4) return Malformed("question truncated");
    q.type = Get16(wire, at);
    q.klass = Get16(wire, at + 2);
    at += 4;
    m.questions.push_back(std::move(q));
  }
  for (uint16_t i = 0; i < m.header.ancount; ++i) {
    AMBIT_ASSIGN_OR_RETURN(Record r, ReadRecord(wire, &at));
    if (r.type == kTypeOpt) return Malformed("OPT record in the answer section");
    m.answers.push_back(std::move(r));
  }
  for (uint16_t i = 0; i < m.header.nscount; ++i) {
    AMBIT_ASSIGN_OR_RETURN(Record r, ReadRecord(wire, &at));
    if (r.type == kTypeOpt) return Malformed("OPT record in the authority section");
    m.authority.push_back(std::move(r));
  }
  for (uint16_t i = 0; i < m.header.arcount; ++i) {
    AMBIT_ASSIGN_OR_RETURN(Record r, ReadRecord(wire, &at));
    if (r.type == kTypeOpt) {
      if (m.edns) return Malformed("more than one OPT record");
      AMBIT_ASSIGN_OR_RETURN(m.edns, ReadOpt(r.name, r.klass, r.ttl));
      continue;
    }
    m.additional.push_back(std::move(r));
  }
  if (at != wire.size()) return Malformed(std::to_string(wire.size() - at) + " trailing byte(s)");
  return m;
}

Result<Query> ParseQuery(std::span<const uint8_t> wire) {
  AMBIT_ASSIGN_OR_RETURN(Message m, ParseMessage(wire));
  if (m.header.qr) return Malformed("QR set in a query");
  if (m.header.qdcount != 1) {
    return Malformed("expected 1 question, got " + std::to_string(m.header.qdcount));
  }
  if (m.header.ancount != 0) return Malformed("answer records in a query");
  Query q;
  q.header = m.header;
  q.question = std::move(m.questions.front());
  q.edns = m.edns;
  return q;
}

std::size_t UdpLimit(const Query& query) {
  if (!query.edns) return kClassicUdpLimit;
  return std::max<std::size_t>(kClassicUdpLimit, query.edns->udp_size);
}

Result<std::vector<uint8_t>> BuildReply(const Query& query, const Reply& reply, std::size_t limit) {
  auto build = [&](bool with_answers) -> Result<std::vector<uint8_t>> {
    Header h;
    h.id = query.header.id;
    h.qr = true;
    h.opcode = query.header.opcode;
    h.aa = reply.authoritative;
    h.tc = !with_answers;
    h.rd = query.header.rd;
    h.ra = true;
    h.cd = query.header.cd;
    h.rcode = static_cast<uint8_t>(reply.rcode & 0x0f);
    h.qdcount = 1;
    h.ancount = with_answers ? static_cast<uint16_t>(reply.answers.size()) : 0;
    h.arcount = query.edns ? 1 : 0;
    std::vector<uint8_t> out;
    out.reserve(512);
    WriteHeader(h, &out);
    WriteQuestion(query.question, &out);
    if (with_answers) {
      for (const auto& a : reply.answers) {
        if (a.owner == query.question.name) {
          Put16(&out, 0xc000 | kHeaderSize);  // the question's name
        } else {
          AMBIT_ASSIGN_OR_RETURN(std::string owner, EncodeName(a.owner));
          PutBytes(&out, owner);
        }
        Put16(&out, a.type);
        Put16(&out, kClassIn);
        Put32(&out, a.ttl);
        std::string data = a.data;
        if (a.type == kTypeCname) {
          AMBIT_ASSIGN_OR_RETURN(data, EncodeName(a.data));
        }
        Put16(&out, static_cast<uint16_t>(data.size()));
        PutBytes(&out, data);
      }
    }
    if (query.edns) {
      WriteOpt(&out, static_cast<uint8_t>(reply.rcode >> 4), query.edns->dnssec_ok);
    }
    return out;
  };
  AMBIT_ASSIGN_OR_RETURN(std::vector<uint8_t> full, build(true));
  if (full.size() <= limit || reply.answers.empty()) return full;
  return build(false);
}

std::vector<uint8_t> BuildHeaderOnlyError(const Header& request, uint8_t rcode) {
  Header h;
  h.id = request.id;
  h.qr = true;
  h.opcode = request.opcode;
  h.rd = request.rd;
  h.ra = true;
  h.rcode = rcode;
  std::vector<uint8_t> out;
  WriteHeader(h, &out);
  return out;
}

Result<std::vector<uint8_t>> AdaptUpstreamResponse(const Query& query, std::span<const uint8_t> response,
                                                   std::size_t limit) {
  AMBIT_ASSIGN_OR_RETURN(Header h, ParseHeader(response));
  if (response.size() <= limit) return WithId(response, query.header.id);
  h.id = query.header.id;
  h.tc = true;
  h.qdcount = 1;
  h.ancount = 0;
  h.nscount = 0;
  h.arcount = query.edns ? 1 : 0;
  std::vector<uint8_t> out;
  WriteHeader(h, &out);
  WriteQuestion(query.question, &out);
  if (query.edns) WriteOpt(&out, 0, query.edns->dnssec_ok);
  return out;
}

Result<Header> CheckResponseMatches(const Query& query, uint16_t sent_id, std::span<const uint8_t> response) {
  AMBIT_ASSIGN_OR_RETURN(Header h, ParseHeader(response));
  if (!h.qr) return Malformed("response without QR");
  if (h.id != sent_id) return Malformed("response id " + std::to_string(h.id) + " does not match");
  if (h.qdcount == 0 && h.rcode != kRcodeNoError) return h;  // some servers drop the question on errors
  if (h.qdcount != 1) return Malformed("response with " + std::to_string(h.qdcount) + " questions");
  std::size_t at = kHeaderSize;
  AMBIT_ASSIGN_OR_RETURN(std::string name, ReadName(response, &at));
  if (response.size() - at < 4) return Malformed("question truncated");
  if (name != query.question.name || Get16(response, at) != query.question.type ||
      Get16(response, at + 2) != query.question.klass) {
    return Malformed("response answers another question");
  }
  return h;
}

Result<std::vector<uint8_t>> BuildQuery(uint16_t id, std::string_view name, uint16_t type) {
  Header h;
  h.id = id;
  h.rd = true;
  h.qdcount = 1;
  h.arcount = 1;
  std::vector<uint8_t> out;
  WriteHeader(h, &out);
  AMBIT_ASSIGN_OR_RETURN(std::string wire_name, EncodeName(name));
  PutBytes(&out, wire_name);
  Put16(&out, type);
  Put16(&out, kClassIn);
  WriteOpt(&out, 0, false);
  return out;
}

std::vector<uint8_t> WithId(std::span<const uint8_t> wire, uint16_t id) {
  std::vector<uint8_t> out(wire.begin(), wire.end());
  if (out.size() >= 2) {
    out[0] = static_cast<uint8_t>(id >> 8);
    out[1] = static_cast<uint8_t>(id & 0xff);
  }
  return out;
}

}  // namespace ambit::dns
