#include "identity/spiffe_id.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ambit::identity {
namespace {

constexpr std::string_view kScheme = "spiffe://";

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// ASCII case folding (trust domains are ASCII): no locale lookup per byte.
// Hot: every pool lookup compares identities (bench/micro/pool_bench.cc).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a == b) return true;  // the usual case: the same spelling
  return std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return AsciiLower(x) == AsciiLower(y); });
}

// Trust domain: letters, digits, '.', '-', '_' (SPIFFE spec, lower-cased on compare).
bool ValidTrustDomain(std::string_view td) {
  return !td.empty() && std::all_of(td.begin(), td.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

// Path segments: non-empty, no '/', and only SPIFFE-legal characters.
bool ValidSegment(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

Error Invalid(std::string_view uri, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               "invalid SPIFFE ID '" + std::string(uri) + "': " + std::string(why) +
                   " (expected spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)");
}

}  // namespace

SpiffeId::SpiffeId(std::string trust_domain, std::string ns, std::string service_account)
    : trust_domain_(std::move(trust_domain)),
      ns_(std::move(ns)),
      service_account_(std::move(service_account)) {}

Result<SpiffeId> SpiffeId::Parse(std::string_view uri) {
  if (uri.substr(0, kScheme.size()) != kScheme) return Invalid(uri, "missing spiffe:// scheme");
  std::string_view rest = uri.substr(kScheme.size());
  std::vector<std::string_view> parts;
  while (true) {
    auto slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (parts.size() != 5) return Invalid(uri, "wrong number of path segments");
  if (!ValidTrustDomain(parts[0])) return Invalid(uri, "bad trust domain");
  if (parts[1] != "ns") return Invalid(uri, "second segment must be 'ns'");
  if (!ValidSegment(parts[2])) return Invalid(uri, "bad namespace");
  if (parts[3] != "sa") return Invalid(uri, "fourth segment must be 'sa'");
  if (!ValidSegment(parts[4])) return Invalid(uri, "bad service account");
  return SpiffeId(std::string(parts[0]), std::string(parts[2]), std::string(parts[4]));
}

std::string SpiffeId::ToString() const { return std::string(kScheme) + Principal(); }

std::string SpiffeId::Principal() const {
  return trust_domain_ + "/ns/" + ns_ + "/sa/" + service_account_;
}

bool SpiffeId::SameTrustDomain(const SpiffeId& other) const {
  return SameTrustDomain(other.trust_domain_);
}

bool SpiffeId::SameTrustDomain(std::string_view trust_domain) const {
  return EqualsIgnoreCase(trust_domain_, trust_domain);
}

}  // namespace ambit::identity
