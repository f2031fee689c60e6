#include "hbone/connect_headers.h"

#include <random>

namespace ambit::hbone {
namespace {

void AppendHex(std::string& out, const std::uint8_t* bytes, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
}

void AppendPair(std::string& out, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  if (!out.empty()) out += ',';
  out += key;
  out += '=';
  out += value;
}

}  // namespace

std::string FormatBaggage(const Baggage& b) {
  std::string out;
  AppendPair(out, "k8s.cluster.name", b.cluster);
  AppendPair(out, "k8s.namespace.name", b.ns);
  if (!b.workload_type.empty()) AppendPair(out, "k8s." + b.workload_type + ".name", b.workload_name);
  AppendPair(out, "service.name", b.service_name);
  AppendPair(out, "service.version", b.service_version);
  AppendPair(out, "cloud.region", b.region);
  AppendPair(out, "cloud.availability_zone", b.zone);
  return out;
}

h2::Headers BuildConnectHeaders(const ConnectRequest& request) {
  h2::Headers headers;
  headers.reserve(5);
  headers.push_back({":method", "CONNECT"});
  headers.push_back({":authority", request.target.ToString()});
  if (!request.baggage.empty()) headers.push_back({"baggage", request.baggage});
  std::string forwarded = "for=\"" + request.downstream.ToString() + "\"";
  if (!request.service_host.empty()) forwarded += ";host=" + request.service_host;
  headers.push_back({"forwarded", std::move(forwarded)});
  headers.push_back({"traceparent", request.traceparent.empty() ? RandomTraceparent() : request.traceparent});
  return headers;
}

std::string FormatTraceparent(const std::array<std::uint8_t, 16>& trace_id,
                              const std::array<std::uint8_t, 8>& parent_id) {
  std::string out = "00-";
  AppendHex(out, trace_id.data(), trace_id.size());
  out += '-';
  AppendHex(out, parent_id.data(), parent_id.size());
  out += "-00";
  return out;
}

std::string RandomTraceparent() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::array<std::uint8_t, 16> trace{};
  std::array<std::uint8_t, 8> parent{};
  do {
    for (std::size_t i = 0; i < 16; i += 8) {
      const std::uint64_t v = rng();
      for (int j = 0; j < 8; ++j) trace[i + j] = static_cast<std::uint8_t>(v >> (8 * j));
    }
  } while (trace == std::array<std::uint8_t, 16>{});
  do {
    const std::uint64_t v = rng();
    for (int j = 0; j < 8; ++j) parent[j] = static_cast<std::uint8_t>(v >> (8 * j));
  } while (parent == std::array<std::uint8_t, 8>{});
  return FormatTraceparent(trace, parent);
}

}  // namespace ambit::hbone
