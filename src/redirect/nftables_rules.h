// The in-pod rule set for native nftables, as text (pure functions, no I/O).
//
// Three tables in family inet — istio-ambient-nat (hooks prerouting/output,
// priority -100 = "dstnat" on prerouting), istio-ambient-mangle (-150, "mangle")
// and istio-ambient-raw (-300, "raw", DNS conntrack zones only) — each with base
// chains prerouting/output jumping to istio-prerouting/istio-output.
//
// Each table is rendered exactly as `nft -s list table inet <name>` prints it
// (nftables 1.0.x), so the same text both installs the table and tells whether
// an installed table has drifted.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "redirect/options.h"

namespace ambit::redirect {

inline constexpr std::array<std::string_view, 3> kNftTableNames = {
    "istio-ambient-nat", "istio-ambient-mangle", "istio-ambient-raw"};

struct NftTable {
  std::string name;     // e.g. "istio-ambient-nat" (family is always inet)
  std::string listing;  // "table inet <name> { ... }\n", as nft lists it
};

// The tables |options| asks for (raw only with DNS capture), in install order.
std::vector<NftTable> NftablesTables(const RedirectOptions& options);

// A script for `nft -f -` that replaces all three tables in one transaction:
// each wanted table is created fresh (any previous content is deleted first),
// each unwanted one is deleted if present. Applying it twice is harmless.
std::string NftablesInstallScript(const RedirectOptions& options);

// A script for `nft -f -` that deletes the three tables if present (one
// transaction; succeeds when none exists).
std::string NftablesRemoveScript();

// Whitespace-insensitive comparison of two table listings (nft's indentation
// and blank lines are not significant).
bool SameNftListing(std::string_view a, std::string_view b);

}  // namespace ambit::redirect
