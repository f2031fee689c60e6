#include "xds/versioned_resource.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <openssl/sha.h>

#include <cstdio>

namespace ambit::xds {
namespace {

std::string DeterministicBytes(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream sink(&bytes);
    google::protobuf::io::CodedOutputStream out(&sink);
    out.SetSerializationDeterministic(true);
    message.SerializeWithCachedSizes(&out);
  }
  return bytes;
}

std::string ContentVersion(const std::string& bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest);
  char hex[17];
  for (int i = 0; i < 8; ++i) std::snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  return std::string(hex, 16);
}

}  // namespace

std::string TypeUrlOf(const google::protobuf::Message& message) {
  return "type.googleapis.com/" + message.GetDescriptor()->full_name();
}

VersionedResource MakeVersionedResource(std::string name, const google::protobuf::Message& message) {
  message.ByteSizeLong();  // SerializeWithCachedSizes needs the cached sizes
  std::string bytes = DeterministicBytes(message);
  auto any = std::make_shared<google::protobuf::Any>();
  any->set_type_url(TypeUrlOf(message));
  std::string version = ContentVersion(bytes);
  any->set_value(std::move(bytes));
  return VersionedResource{std::move(name), std::move(version), std::move(any)};
}

}  // namespace ambit::xds
