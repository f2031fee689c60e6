// Istio's string patterns for principals and namespaces, as an
// AuthorizationPolicy spells them, turned into the StringMatch the
// istio.security.Authorization resource carries:
//   "*"      -> presence (any non-empty value)
//   "*abc"   -> suffix "abc"
//   "abc*"   -> prefix "abc"
//   "abc"    -> exact "abc"
// A leading '*' wins over a trailing one ("*a*" is suffix "a*"), as in Istio.
//
// Free function; thread-safe.
#pragma once

#include <string_view>

#include "istio/security/authorization.pb.h"

namespace ambit::authz {

istio::security::StringMatch StringMatchFromPattern(std::string_view pattern);

}  // namespace ambit::authz
