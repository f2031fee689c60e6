#include "authz/compiled_policy.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "istio/security/authorization.pb.h"

namespace ambit::authz {
namespace {

namespace pb = istio::security;

std::uint64_t LoadBigEndian64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

PreparedConnection::Ip Split(const net::IpAddress& ip) {
  PreparedConnection::Ip out;
  out.v4 = ip.is_v4();
  const auto& b = ip.bytes();
  if (out.v4) {
    // Same layout as an IPv4 prefix: the 4 bytes at the top of |hi|.
    std::uint8_t padded[8] = {b[0], b[1], b[2], b[3], 0, 0, 0, 0};
    out.hi = LoadBigEndian64(padded);
  } else {
    out.hi = LoadBigEndian64(b.data());
    out.lo = LoadBigEndian64(b.data() + 8);
  }
  return out;
}

// The top |bits| bits of a 64-bit half set (bits may be <= 0 or >= 64).
std::uint64_t MaskBits(int bits) {
  if (bits <= 0) return 0;
  if (bits >= 64) return ~std::uint64_t{0};
  return ~std::uint64_t{0} << (64 - bits);
}

Action ToAction(int action) { return action == pb::ALLOW ? Action::kAllow : Action::kDeny; }

Scope ToScope(int scope) {
  switch (scope) {
    case pb::GLOBAL:
      return Scope::kGlobal;
    case pb::NAMESPACE:
      return Scope::kNamespace;
    default:
      return Scope::kWorkloadSelector;  // applies only where referenced by key
  }
}

std::uint64_t Load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

using Span = CompiledPolicy::Span;

Span SpanOf(std::size_t first, std::size_t end) {
  return {static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(end - first)};
}

}  // namespace

// Appends one policy's rules to a CompiledPolicy's flat arrays.
class CompiledPolicyBuilder {
 public:
  // Builds error messages that say where in the policy the problem is.
  class Where {
   public:
    explicit Where(const pb::Authorization& policy)
        : prefix_("policy '" + policy.namespace_() + "/" + policy.name() + "'") {}
    void At(int rule, int clause, int match) {
      at_ = " rule " + std::to_string(rule) + " clause " + std::to_string(clause) + " match " +
            std::to_string(match);
    }
    Error Invalid(const std::string& field, int index, const std::string& what) const {
      return Error(ErrorCode::kInvalidArgument,
                   prefix_ + at_ + ": " + field + "[" + std::to_string(index) + "] " + what);
    }
    Error Invalid(const std::string& what) const {
      return Error(ErrorCode::kInvalidArgument, prefix_ + ": " + what);
    }

   private:
    std::string prefix_;
    std::string at_;
  };

  CompiledPolicyBuilder(CompiledPolicy& out, Where& where) : out_(out), where_(where) {}

  Status AddRules(const pb::Authorization& policy) {
    for (int r = 0; r < policy.rules_size(); ++r) {
      const pb::Rule& rule = policy.rules(r);
      // Clauses and matches of this rule, rolled back if it can never match.
      const std::size_t clauses_mark = out_.clauses_.size();
      const std::size_t matches_mark = out_.matches_.size();
      const std::size_t tests_mark = out_.tests_.size();
      bool rule_can_match = true;
      for (int c = 0; c < rule.clauses_size(); ++c) {
        const pb::Clause& clause = rule.clauses(c);
        const std::size_t first_match = out_.matches_.size();
        for (int m = 0; m < clause.matches_size(); ++m) {
          where_.At(r, c, m);
          const std::size_t first_test = out_.tests_.size();
          AMBIT_RETURN_IF_ERROR(AddMatch(clause.matches(m)));
          // A match with no field is skipped.
          if (out_.tests_.size() > first_test) {
            out_.matches_.push_back(SpanOf(first_test, out_.tests_.size()));
          }
        }
        if (clause.matches_size() == 0) continue;  // a clause with no matches is satisfied
        if (out_.matches_.size() == first_match) rule_can_match = false;  // only empty matches
        out_.clauses_.push_back(SpanOf(first_match, out_.matches_.size()));
      }
      if (!rule_can_match) {
        // The values stay in the arrays (unreferenced); the structure goes.
        out_.clauses_.resize(clauses_mark);
        out_.matches_.resize(matches_mark);
        out_.tests_.resize(tests_mark);
        continue;
      }
      if (out_.clauses_.size() == clauses_mark) out_.always_ = true;
      out_.rules_.push_back(SpanOf(clauses_mark, out_.clauses_.size()));
    }
    if (out_.always_) {
      out_.rules_.clear();
      out_.clauses_.clear();
      out_.matches_.clear();
      out_.tests_.clear();
    }
    BuildGate();
    return Ok();
  }

 private:
  using Field = CompiledPolicy::Field;
  using Kind = CompiledPolicy::StringMatcher::Kind;

  Status AddMatch(const pb::Match& m) {
    // Validate every field first (errors name the first bad value in field
    // order), then add the tests cheapest first; the order of a match's
    // tests does not change its result (AND).
    AMBIT_RETURN_IF_ERROR(AddPorts(m.destination_ports(), "destination_ports", false));
    AMBIT_RETURN_IF_ERROR(AddPorts(m.not_destination_ports(), "not_destination_ports", true));
    AMBIT_RETURN_IF_ERROR(
        AddPrefixes(m.destination_ips(), "destination_ips", Field::kDestinationIp, false));
    AMBIT_RETURN_IF_ERROR(
        AddPrefixes(m.not_destination_ips(), "not_destination_ips", Field::kDestinationIp, true));
    AMBIT_RETURN_IF_ERROR(AddPrefixes(m.source_ips(), "source_ips", Field::kSourceIp, false));
    AMBIT_RETURN_IF_ERROR(
        AddPrefixes(m.not_source_ips(), "not_source_ips", Field::kSourceIp, true));
    AddServiceAccounts(m.service_accounts(), false);
    AddServiceAccounts(m.not_service_accounts(), true);
    AMBIT_RETURN_IF_ERROR(AddStrings(m.principals(), "principals", Field::kPrincipal, false));
    AMBIT_RETURN_IF_ERROR(
        AddStrings(m.not_principals(), "not_principals", Field::kPrincipal, true));
    AMBIT_RETURN_IF_ERROR(AddStrings(m.namespaces(), "namespaces", Field::kNamespace, false));
    AMBIT_RETURN_IF_ERROR(
        AddStrings(m.not_namespaces(), "not_namespaces", Field::kNamespace, true));
    return Ok();
  }

  // The gate keys a test requires the peer to agree with, or nullopt when
  // the test is not a requirement on the peer's principal or namespace that
  // a key can express.
  std::optional<std::vector<CompiledPolicy::GateKey>> TestGate(
      const CompiledPolicy::Test& t) const {
    if (t.negative) return std::nullopt;
    std::vector<CompiledPolicy::GateKey> keys;
    const std::uint32_t end = t.values.first + t.values.count;
    for (std::uint32_t i = t.values.first; i < end; ++i) {
      if (t.field == Field::kServiceAccount) {
        // A service account hits only a peer of its namespace.
        const CompiledPolicy::ServiceAccountMatcher& sa = out_.accounts_[i];
        keys.push_back(ExactKey(Field::kNamespace, sa.ns_offset, sa.ns_size));
        continue;
      }
      if (t.field != Field::kPrincipal && t.field != Field::kNamespace) return std::nullopt;
      const CompiledPolicy::StringMatcher& m = out_.strings_[i];
      if (m.kind == Kind::kExact) {
        keys.push_back(ExactKey(t.field, m.offset, m.size));
      } else if ((m.kind == Kind::kPrefix || m.kind == Kind::kSuffix) && m.size >= 8) {
        keys.push_back({m.window, m.size, t.field, m.kind});
      } else {
        return std::nullopt;  // presence, or a short prefix/suffix: anything may hit
      }
    }
    return keys;
  }

  CompiledPolicy::GateKey ExactKey(Field field, std::uint32_t offset, std::uint32_t size) const {
    CompiledPolicy::GateKey key;
    key.field = field;
    key.size = size;
    key.kind = Kind::kExact;
    const char* p = out_.text_.data() + offset;
    if (size >= 8) {
      key.window = Load64(p + size - 8);
    } else {
      std::memcpy(&key.window, p, size);  // zero-padded
    }
    return key;
  }

  // Sets the gate when every rule has a clause whose every match requires
  // the peer to agree with some key (the clause's keys: the union over its
  // matches of one such test's keys), and all of them fit.
  void BuildGate() {
    if (out_.always_) return;
    std::vector<CompiledPolicy::GateKey> gate;
    for (const Span& rule : out_.rules_) {
      std::optional<std::vector<CompiledPolicy::GateKey>> best;
      for (std::uint32_t c = rule.first; c < rule.first + rule.count; ++c) {
        const Span& clause = out_.clauses_[c];
        std::vector<CompiledPolicy::GateKey> clause_keys;
        bool clause_gated = true;
        for (std::uint32_t m = clause.first; m < clause.first + clause.count && clause_gated; ++m) {
          const Span& match = out_.matches_[m];
          std::optional<std::vector<CompiledPolicy::GateKey>> match_keys;
          for (std::uint32_t t = match.first; t < match.first + match.count; ++t) {
            auto keys = TestGate(out_.tests_[t]);
            if (keys && (!match_keys || keys->size() < match_keys->size()))
              match_keys = std::move(keys);
          }
          if (!match_keys) {
            clause_gated = false;
          } else {
            clause_keys.insert(clause_keys.end(), match_keys->begin(), match_keys->end());
          }
        }
        if (clause_gated && (!best || clause_keys.size() < best->size()))
          best = std::move(clause_keys);
      }
      if (!best) return;  // this rule may match any peer (or none needed)
      gate.insert(gate.end(), best->begin(), best->end());
    }
    if (gate.size() > CompiledPolicy::kMaxGateKeys) return;
    out_.gated_ = true;
    out_.gate_ = std::move(gate);
  }

  void AddTest(Field field, bool negative, std::size_t first, std::size_t end) {
    if (end == first) return;  // an empty list is no test
    out_.tests_.push_back({field, negative, SpanOf(first, end)});
  }

  Status AddPorts(const google::protobuf::RepeatedField<std::uint32_t>& in,
                  const std::string& field, bool negative) {
    const std::size_t first = out_.ports_.size();
    for (int i = 0; i < in.size(); ++i) {
      if (in[i] > 65535) {
        return where_.Invalid(field, i, "port " + std::to_string(in[i]) + " exceeds 65535");
      }
      out_.ports_.push_back(static_cast<std::uint16_t>(in[i]));
    }
    auto begin = out_.ports_.begin() + static_cast<std::ptrdiff_t>(first);
    std::sort(begin, out_.ports_.end());
    out_.ports_.erase(std::unique(begin, out_.ports_.end()), out_.ports_.end());
    AddTest(Field::kPort, negative, first, out_.ports_.size());
    return Ok();
  }

  Status AddPrefixes(const google::protobuf::RepeatedPtrField<pb::Address>& in,
                     const std::string& field, Field which, bool negative) {
    const std::size_t first = out_.prefixes_.size();
    for (int i = 0; i < in.size(); ++i) {
      const std::string& bytes = in[i].address();
      if (bytes.size() != 4 && bytes.size() != 16) {
        return where_.Invalid(
            field, i, "address has " + std::to_string(bytes.size()) + " bytes (want 4 or 16)");
      }
      const std::uint32_t max_len = static_cast<std::uint32_t>(bytes.size() * 8);
      if (in[i].length() > max_len) {
        return where_.Invalid(field, i,
                              "prefix length " + std::to_string(in[i].length()) + " exceeds " +
                                  std::to_string(max_len));
      }
      std::array<std::uint8_t, 16> raw{};
      std::memcpy(raw.data(), bytes.data(), bytes.size());
      net::IpAddress ip = bytes.size() == 4 ? net::IpAddress::V4({raw[0], raw[1], raw[2], raw[3]})
                                            : net::IpAddress::V6(raw);
      const PreparedConnection::Ip split = Split(ip);
      const int len = static_cast<int>(in[i].length());
      CompiledPolicy::IpPrefix p;
      p.v4 = split.v4;
      p.mask_hi = MaskBits(len);
      p.mask_lo = MaskBits(len - 64);
      p.hi = split.hi & p.mask_hi;
      p.lo = split.lo & p.mask_lo;
      out_.prefixes_.push_back(p);
    }
    AddTest(which, negative, first, out_.prefixes_.size());
    return Ok();
  }

  // Stores |s| in text_; returns its offset.
  std::uint32_t AddText(const std::string& s) {
    const auto offset = static_cast<std::uint32_t>(out_.text_.size());
    out_.text_ += s;
    return offset;
  }

  Status AddStrings(const google::protobuf::RepeatedPtrField<pb::StringMatch>& in,
                    const std::string& field, Field which, bool negative) {
    const std::size_t first = out_.strings_.size();
    for (int i = 0; i < in.size(); ++i) {
      const pb::StringMatch& m = in[i];
      CompiledPolicy::StringMatcher sm;
      const std::string* value = nullptr;
      switch (m.match_type_case()) {
        case pb::StringMatch::kExact:
          sm.kind = Kind::kExact;
          value = &m.exact();
          break;
        case pb::StringMatch::kPrefix:
          sm.kind = Kind::kPrefix;
          value = &m.prefix();
          break;
        case pb::StringMatch::kSuffix:
          sm.kind = Kind::kSuffix;
          value = &m.suffix();
          break;
        case pb::StringMatch::kPresence:
          sm.kind = Kind::kPresence;
          break;
        case pb::StringMatch::MATCH_TYPE_NOT_SET:
          return where_.Invalid(field, i, "has no match type");
      }
      if (value != nullptr) {
        sm.offset = AddText(*value);
        sm.size = static_cast<std::uint32_t>(value->size());
        if (sm.size >= 8) {
          sm.window = Load64(value->data() + (sm.kind == Kind::kSuffix ? 0 : sm.size - 8));
        }
      }
      out_.strings_.push_back(sm);
    }
    AddTest(which, negative, first, out_.strings_.size());
    return Ok();
  }

  void AddServiceAccounts(const google::protobuf::RepeatedPtrField<pb::ServiceAccountMatch>& in,
                          bool negative) {
    const std::size_t first = out_.accounts_.size();
    for (const auto& m : in) {
      CompiledPolicy::ServiceAccountMatcher sa;
      sa.ns_size = static_cast<std::uint32_t>(m.namespace_().size());
      sa.ns_offset = AddText(m.namespace_());
      sa.sa_size = static_cast<std::uint32_t>(m.serviceaccount().size());
      sa.sa_offset = AddText(m.serviceaccount());
      out_.accounts_.push_back(sa);
    }
    AddTest(Field::kServiceAccount, negative, first, out_.accounts_.size());
  }

  CompiledPolicy& out_;
  Where& where_;
};

PreparedConnection PreparedConnection::Prepare(const Connection& conn) {
  PeerView view;
  if (conn.peer) view = PeerView::Of(*conn.peer);
  return Prepare(conn.peer ? &view : nullptr, conn.source_ip, conn.destination_ip,
                 conn.destination_port);
}

PreparedConnection PreparedConnection::Prepare(const PeerView* peer, const net::IpAddress& source,
                                               const net::IpAddress& destination,
                                               std::uint16_t destination_port) {
  PreparedConnection out;
  if (peer != nullptr) {
    out.has_peer = true;
    out.peer = *peer;
  }
  out.source = Split(source);
  out.destination = Split(destination);
  out.destination_port = destination_port;
  return out;
}

bool CompiledPolicy::StringHits(const StringMatcher& m, std::string_view s) const {
  const char* at = s.data();  // where the value must appear in |s|
  switch (m.kind) {
    case StringMatcher::Kind::kPresence:
      return !s.empty();
    case StringMatcher::Kind::kExact:
      if (s.size() != m.size) return false;
      break;
    case StringMatcher::Kind::kPrefix:
      if (s.size() < m.size) return false;
      break;
    case StringMatcher::Kind::kSuffix:
      if (s.size() < m.size) return false;
      at += s.size() - m.size;
      break;
  }
  if (m.size >= 8) {
    // Values of one field often share a long start ("cluster.local/ns/"):
    // compare the window first (it lies inside |s|: s.size() >= m.size).
    const std::size_t window_at = m.kind == StringMatcher::Kind::kSuffix ? 0 : m.size - 8;
    if (Load64(at + window_at) != m.window) return false;
  }
  return std::memcmp(at, text_.data() + m.offset, m.size) == 0;
}

bool CompiledPolicy::TestPasses(const Test& t, const PreparedConnection& c) const {
  const std::uint32_t first = t.values.first;
  const std::uint32_t end = first + t.values.count;
  bool hit = false;
  switch (t.field) {
    case Field::kPort: {
      const std::uint16_t* begin = ports_.data() + first;
      const std::uint16_t* stop = ports_.data() + end;
      if (t.values.count <= 8) {
        for (const std::uint16_t* p = begin; p != stop && !hit; ++p) hit = *p == c.destination_port;
      } else {
        hit = std::binary_search(begin, stop, c.destination_port);  // sorted, unique
      }
      break;
    }
    case Field::kDestinationIp:
      for (std::uint32_t i = first; i < end && !hit; ++i)
        hit = prefixes_[i].Contains(c.destination);
      break;
    case Field::kSourceIp:
      for (std::uint32_t i = first; i < end && !hit; ++i) hit = prefixes_[i].Contains(c.source);
      break;
    case Field::kServiceAccount:
      // Without a peer nothing hits.
      if (!c.has_peer) break;
      for (std::uint32_t i = first; i < end && !hit; ++i) {
        const ServiceAccountMatcher& m = accounts_[i];
        hit = c.peer.ns == std::string_view(text_.data() + m.ns_offset, m.ns_size) &&
              c.peer.service_account == std::string_view(text_.data() + m.sa_offset, m.sa_size);
      }
      break;
    case Field::kPrincipal:
      if (!c.has_peer) break;
      for (std::uint32_t i = first; i < end && !hit; ++i)
        hit = StringHits(strings_[i], c.peer.principal);
      break;
    case Field::kNamespace:
      if (!c.has_peer) break;
      for (std::uint32_t i = first; i < end && !hit; ++i) hit = StringHits(strings_[i], c.peer.ns);
      break;
  }
  return hit != t.negative;
}

Result<CompiledPolicy> CompiledPolicy::Compile(const pb::Authorization& policy) {
  CompiledPolicyBuilder::Where where(policy);
  if (!pb::Action_IsValid(policy.action())) {
    return where.Invalid("unknown action " + std::to_string(policy.action()));
  }
  if (!pb::Scope_IsValid(policy.scope())) {
    return where.Invalid("unknown scope " + std::to_string(policy.scope()));
  }
  CompiledPolicy out;
  out.key_ = policy.namespace_() + "/" + policy.name();
  out.ns_ = policy.namespace_();
  out.action_ = ToAction(policy.action());
  out.scope_ = ToScope(policy.scope());
  out.dry_run_ = policy.dry_run();
  CompiledPolicyBuilder builder(out, where);
  AMBIT_RETURN_IF_ERROR(builder.AddRules(policy));
  out.rules_.shrink_to_fit();
  out.clauses_.shrink_to_fit();
  out.matches_.shrink_to_fit();
  out.tests_.shrink_to_fit();
  out.ports_.shrink_to_fit();
  out.prefixes_.shrink_to_fit();
  out.strings_.shrink_to_fit();
  out.accounts_.shrink_to_fit();
  out.text_.shrink_to_fit();
  return out;
}

CompiledPolicy CompiledPolicy::FailClosed(const pb::Authorization& policy) {
  CompiledPolicy out;
  out.key_ = policy.namespace_() + "/" + policy.name();
  out.ns_ = policy.namespace_();
  out.action_ = ToAction(policy.action());
  out.scope_ = ToScope(policy.scope());
  out.dry_run_ = policy.dry_run();  // a dry-run policy never affects traffic, valid or not
  out.always_ = out.action_ == Action::kDeny;
  return out;
}

bool CompiledPolicy::RulesMatch(const PreparedConnection& conn) const {
  for (const Span& rule : rules_) {
    bool all = true;
    for (std::uint32_t c = rule.first, c_end = rule.first + rule.count; c < c_end && all; ++c) {
      const Span& clause = clauses_[c];
      bool any = false;
      for (std::uint32_t m = clause.first, m_end = clause.first + clause.count; m < m_end && !any;
           ++m) {
        const Span& match = matches_[m];
        bool pass = true;
        for (std::uint32_t t = match.first, t_end = match.first + match.count; t < t_end && pass;
             ++t) {
          pass = TestPasses(tests_[t], conn);
        }
        any = pass;
      }
      all = any;
    }
    if (all) return true;
  }
  return false;
}

}  // namespace ambit::authz
