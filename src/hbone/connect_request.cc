#include "hbone/connect_request.h"

#include <algorithm>
#include <cctype>

namespace ambit::hbone {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Calls |f(name, value)| for each element of the first forwarded-element
// (the one the immediate client added), splitting on ';'.
template <typename F>
void ForEachForwardedPair(std::string_view forwarded, F&& f) {
  const auto comma = forwarded.find(',');
  std::string_view first = forwarded.substr(0, comma);
  while (!first.empty()) {
    const auto semi = first.find(';');
    std::string_view pair = Trim(first.substr(0, semi));
    first = semi == std::string_view::npos ? std::string_view() : first.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view value = Trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    f(Trim(pair.substr(0, eq)), value);
  }
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool IsAllZero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// A DNS-ish hostname followed by ":port".
bool LooksLikeHostnameAuthority(std::string_view authority) {
  const auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == authority.size()) return false;
  const std::string_view host = authority.substr(0, colon);
  const std::string_view port = authority.substr(colon + 1);
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  if (std::stoul(std::string(port)) > 65535) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
  });
}

}  // namespace

bool IsValidTraceparent(std::string_view v) {
  if (v.size() != 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  const std::string_view version = v.substr(0, 2);
  const std::string_view trace = v.substr(3, 32);
  const std::string_view parent = v.substr(36, 16);
  const std::string_view flags = v.substr(53, 2);
  return IsLowerHex(version) && version != "ff" && IsLowerHex(trace) && !IsAllZero(trace) &&
         IsLowerHex(parent) && !IsAllZero(parent) && IsLowerHex(flags);
}

std::optional<net::SocketAddress> ParseForwardedFor(std::string_view forwarded) {
  std::optional<net::SocketAddress> out;
  ForEachForwardedPair(forwarded, [&](std::string_view name, std::string_view value) {
    if (out || !EqualsIgnoreCase(name, "for")) return;
    auto addr = net::SocketAddress::Parse(value);
    if (addr.ok()) out = *addr;
  });
  return out;
}

std::string ParseForwardedHost(std::string_view forwarded) {
  std::string out;
  ForEachForwardedPair(forwarded, [&](std::string_view name, std::string_view value) {
    if (out.empty() && EqualsIgnoreCase(name, "host")) out = std::string(value);
  });
  return out;
}

ConnectDecision DecideConnect(const h2::Headers& headers, const InboundContext& context) {
  std::string_view method;
  std::string_view authority;
  std::string_view forwarded;
  std::string_view traceparent;
  std::string_view baggage;
  bool have_authority = false;
  for (const auto& h : headers) {
    // First occurrence wins; HTTP/2 header names arrive lower-case.
    if (h.name == ":method" && method.empty()) {
      method = h.value;
    } else if (h.name == ":authority" && !have_authority) {
      authority = h.value;
      have_authority = true;
    } else if (h.name == "forwarded" && forwarded.empty()) {
      forwarded = h.value;
    } else if (h.name == "traceparent" && traceparent.empty()) {
      traceparent = h.value;
    } else if (h.name == "baggage" && baggage.empty()) {
      baggage = h.value;
    }
  }
  if (method != "CONNECT") {
    return RejectedConnect{400, "method '" + std::string(method) + "' is not CONNECT"};
  }
  if (!have_authority || authority.empty()) return RejectedConnect{400, "CONNECT without :authority"};
  auto target = net::SocketAddress::Parse(authority);
  if (!target.ok()) {
    if (LooksLikeHostnameAuthority(authority)) {
      return RejectedConnect{503, "hostname target '" + std::string(authority) +
                                      "' (double HBONE) is not supported"};
    }
    return RejectedConnect{400, "unparsable :authority '" + std::string(authority) + "'"};
  }
  if (target->ip() != context.local_ip) {
    return RejectedConnect{400, "target " + target->ToString() + " is not this workload's address " +
                                    context.local_ip.ToString()};
  }
  if (std::find(context.illegal_ports.begin(), context.illegal_ports.end(), target->port()) !=
      context.illegal_ports.end()) {
    return RejectedConnect{503, "target port " + std::to_string(target->port()) +
                                    " is one of ztunnel's own ports (self call)"};
  }
  AcceptedConnect accepted;
  accepted.target = *target;
  if (!forwarded.empty()) {
    accepted.forwarded_for = ParseForwardedFor(forwarded);
    accepted.forwarded_host = ParseForwardedHost(forwarded);
  }
  if (IsValidTraceparent(traceparent)) accepted.traceparent = std::string(traceparent);
  accepted.baggage = std::string(baggage);
  return accepted;
}

}  // namespace ambit::hbone
