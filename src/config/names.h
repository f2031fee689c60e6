// Kubernetes name and label rules (k8s.io/apimachinery validation), as checks
// that return an empty string when the value is valid, or a sentence saying what
// was expected otherwise. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace ambit::config {

// RFC 1123 label: at most 63 chars of [a-z0-9-], starting and ending alphanumeric.
std::string CheckDns1123Label(std::string_view value);
// RFC 1123 subdomain: at most 253 chars, dot-separated RFC 1123 labels.
std::string CheckDns1123Subdomain(std::string_view value);
// RFC 1035 label (Service names): like a 1123 label but must start with a letter.
std::string CheckDns1035Label(std::string_view value);
// Label or annotation key: [prefix/]name; prefix a DNS-1123 subdomain, name at
// most 63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric.
std::string CheckQualifiedName(std::string_view value);
// Label value: empty, or at most 63 chars of [A-Za-z0-9-_.] starting and ending alphanumeric.
std::string CheckLabelValue(std::string_view value);
// IANA service name (named ports): 1-15 chars of [a-z0-9-], at least one
// letter, no leading/trailing/double hyphen.
std::string CheckIanaServiceName(std::string_view value);
// Environment variable name: non-empty, printable ASCII, no '='.
std::string CheckEnvVarName(std::string_view value);

}  // namespace ambit::config
