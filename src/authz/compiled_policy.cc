#include "authz/compiled_policy.h"

#include <algorithm>
#include <cstring>

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

Result<std::vector<CompiledPolicy::IpPrefix>> CompilePrefixes(
    const google::protobuf::RepeatedPtrField<pb::Address>& in, const std::string& field,
    const Where& where) {
  std::vector<CompiledPolicy::IpPrefix> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    const std::string& bytes = in[i].address();
    if (bytes.size() != 4 && bytes.size() != 16) {
      return where.Invalid(field, i, "address has " + std::to_string(bytes.size()) +
                                         " bytes (want 4 or 16)");
    }
    const std::uint32_t max_len = static_cast<std::uint32_t>(bytes.size() * 8);
    if (in[i].length() > max_len) {
      return where.Invalid(field, i, "prefix length " + std::to_string(in[i].length()) +
                                         " exceeds " + std::to_string(max_len));
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
    out.push_back(p);
  }
  return out;
}

Result<std::vector<std::uint16_t>> CompilePorts(const google::protobuf::RepeatedField<std::uint32_t>& in,
                                                const std::string& field, const Where& where) {
  std::vector<std::uint16_t> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    if (in[i] > 65535) return where.Invalid(field, i, "port " + std::to_string(in[i]) + " exceeds 65535");
    out.push_back(static_cast<std::uint16_t>(in[i]));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::vector<CompiledPolicy::StringMatcher>> CompileStrings(
    const google::protobuf::RepeatedPtrField<pb::StringMatch>& in, const std::string& field,
    const Where& where) {
  using Kind = CompiledPolicy::StringMatcher::Kind;
  std::vector<CompiledPolicy::StringMatcher> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (int i = 0; i < in.size(); ++i) {
    const pb::StringMatch& m = in[i];
    switch (m.match_type_case()) {
      case pb::StringMatch::kExact: out.push_back({Kind::kExact, m.exact()}); break;
      case pb::StringMatch::kPrefix: out.push_back({Kind::kPrefix, m.prefix()}); break;
      case pb::StringMatch::kSuffix: out.push_back({Kind::kSuffix, m.suffix()}); break;
      case pb::StringMatch::kPresence: out.push_back({Kind::kPresence, ""}); break;
      case pb::StringMatch::MATCH_TYPE_NOT_SET:
        return where.Invalid(field, i, "has no match type");
    }
  }
  return out;
}

std::vector<CompiledPolicy::ServiceAccountMatcher> CompileServiceAccounts(
    const google::protobuf::RepeatedPtrField<pb::ServiceAccountMatch>& in) {
  std::vector<CompiledPolicy::ServiceAccountMatcher> out;
  out.reserve(static_cast<std::size_t>(in.size()));
  for (const auto& m : in) out.push_back({m.namespace_(), m.serviceaccount()});
  return out;
}

Result<CompiledPolicy::Match> CompileMatch(const pb::Match& m, const Where& where) {
  CompiledPolicy::Match out;
  AMBIT_ASSIGN_OR_RETURN(out.ports, CompilePorts(m.destination_ports(), "destination_ports", where));
  AMBIT_ASSIGN_OR_RETURN(out.not_ports,
                         CompilePorts(m.not_destination_ports(), "not_destination_ports", where));
  AMBIT_ASSIGN_OR_RETURN(out.source_ips, CompilePrefixes(m.source_ips(), "source_ips", where));
  AMBIT_ASSIGN_OR_RETURN(out.not_source_ips,
                         CompilePrefixes(m.not_source_ips(), "not_source_ips", where));
  AMBIT_ASSIGN_OR_RETURN(out.destination_ips,
                         CompilePrefixes(m.destination_ips(), "destination_ips", where));
  AMBIT_ASSIGN_OR_RETURN(out.not_destination_ips,
                         CompilePrefixes(m.not_destination_ips(), "not_destination_ips", where));
  AMBIT_ASSIGN_OR_RETURN(out.principals, CompileStrings(m.principals(), "principals", where));
  AMBIT_ASSIGN_OR_RETURN(out.not_principals,
                         CompileStrings(m.not_principals(), "not_principals", where));
  AMBIT_ASSIGN_OR_RETURN(out.namespaces, CompileStrings(m.namespaces(), "namespaces", where));
  AMBIT_ASSIGN_OR_RETURN(out.not_namespaces,
                         CompileStrings(m.not_namespaces(), "not_namespaces", where));
  out.service_accounts = CompileServiceAccounts(m.service_accounts());
  out.not_service_accounts = CompileServiceAccounts(m.not_service_accounts());
  return out;
}

bool IsEmpty(const CompiledPolicy::Match& m) {
  return m.ports.empty() && m.not_ports.empty() && m.source_ips.empty() && m.not_source_ips.empty() &&
         m.destination_ips.empty() && m.not_destination_ips.empty() && m.principals.empty() &&
         m.not_principals.empty() && m.namespaces.empty() && m.not_namespaces.empty() &&
         m.service_accounts.empty() && m.not_service_accounts.empty();
}

// One field of a Match: true when the positive list (if any) hits and the
// negative list (if any) does not.
template <typename T, typename Hit>
bool FieldMatches(const std::vector<T>& positive, const std::vector<T>& negative, Hit hit) {
  if (!positive.empty() && std::none_of(positive.begin(), positive.end(), hit)) return false;
  if (!negative.empty() && std::any_of(negative.begin(), negative.end(), hit)) return false;
  return true;
}

bool PortHit(const std::vector<std::uint16_t>& sorted, std::uint16_t port) {
  return std::binary_search(sorted.begin(), sorted.end(), port);
}

Action ToAction(int action) { return action == pb::ALLOW ? Action::kAllow : Action::kDeny; }

Scope ToScope(int scope) {
  switch (scope) {
    case pb::GLOBAL: return Scope::kGlobal;
    case pb::NAMESPACE: return Scope::kNamespace;
    default: return Scope::kWorkloadSelector;  // applies only where referenced by key
  }
}

}  // namespace

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

bool CompiledPolicy::StringMatcher::Hits(std::string_view s) const {
  switch (kind) {
    case Kind::kExact: return s == value;
    case Kind::kPrefix: return s.starts_with(value);
    case Kind::kSuffix: return s.ends_with(value);
    case Kind::kPresence: return !s.empty();
  }
  return false;
}

bool CompiledPolicy::Match::Matches(const PreparedConnection& c) const {
  // Cheapest fields first; the order does not change the result (AND).
  // Ports are sorted and unique: a binary search per list.
  if (!ports.empty() && !PortHit(ports, c.destination_port)) return false;
  if (!not_ports.empty() && PortHit(not_ports, c.destination_port)) return false;
  auto dst_hit = [&](const IpPrefix& p) { return p.Contains(c.destination); };
  if (!FieldMatches(destination_ips, not_destination_ips, dst_hit)) return false;
  auto src_hit = [&](const IpPrefix& p) { return p.Contains(c.source); };
  if (!FieldMatches(source_ips, not_source_ips, src_hit)) return false;
  // Identity fields: without a peer nothing hits.
  const PeerView* peer = c.has_peer ? &c.peer : nullptr;
  auto sa_hit = [peer](const ServiceAccountMatcher& m) {
    return peer != nullptr && peer->ns == m.ns && peer->service_account == m.service_account;
  };
  if (!FieldMatches(service_accounts, not_service_accounts, sa_hit)) return false;
  auto principal_hit = [peer](const StringMatcher& m) { return peer != nullptr && m.Hits(peer->principal); };
  if (!FieldMatches(principals, not_principals, principal_hit)) return false;
  auto ns_hit = [peer](const StringMatcher& m) { return peer != nullptr && m.Hits(peer->ns); };
  return FieldMatches(namespaces, not_namespaces, ns_hit);
}

Result<CompiledPolicy> CompiledPolicy::Compile(const pb::Authorization& policy) {
  Where where(policy);
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
  for (int r = 0; r < policy.rules_size(); ++r) {
    const pb::Rule& rule = policy.rules(r);
    Rule compiled_rule;
    bool rule_can_match = true;
    for (int c = 0; c < rule.clauses_size(); ++c) {
      const pb::Clause& clause = rule.clauses(c);
      Clause compiled_clause;
      for (int m = 0; m < clause.matches_size(); ++m) {
        where.At(r, c, m);
        AMBIT_ASSIGN_OR_RETURN(Match match, CompileMatch(clause.matches(m), where));
        if (!IsEmpty(match)) compiled_clause.push_back(std::move(match));  // empty: skipped
      }
      if (clause.matches_size() == 0) continue;  // a clause with no matches is satisfied
      if (compiled_clause.empty()) rule_can_match = false;  // only empty matches: never
      compiled_rule.push_back(std::move(compiled_clause));
    }
    if (!rule_can_match) continue;
    if (compiled_rule.empty()) out.always_ = true;
    out.rules_.push_back(std::move(compiled_rule));
  }
  if (out.always_) out.rules_.clear();
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

bool CompiledPolicy::Matches(const PreparedConnection& conn) const {
  if (always_) return true;
  for (const Rule& rule : rules_) {
    bool all = true;
    for (const Clause& clause : rule) {
      bool any = false;
      for (const Match& m : clause) {
        if (m.Matches(conn)) {
          any = true;
          break;
        }
      }
      if (!any) {
        all = false;
        break;
      }
    }
    if (all) return true;
  }
  return false;
}

}  // namespace ambit::authz
