// A resource as the server holds it: packed into an Any once, with a version
// derived from its content.
//
// The version is the first 16 hex digits of SHA-256 over the resource's
// deterministic serialization. Equal content => equal version, across
// processes and restarts, so a reconnecting client's initial_resource_versions
// stay meaningful after ambitd restarts. Value type; thread-compatible (the
// shared Any is immutable).
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace google::protobuf {
class Any;
class Message;
}  // namespace google::protobuf

namespace ambit::xds {

struct VersionedResource {
  std::string name;
  std::string version;
  std::shared_ptr<const google::protobuf::Any> body;  // never null
};

// Packs |message| under |name|. Deterministic: map fields are ordered.
VersionedResource MakeVersionedResource(std::string name, const google::protobuf::Message& message);

// "type.googleapis.com/<full message name>".
std::string TypeUrlOf(const google::protobuf::Message& message);

}  // namespace ambit::xds
