// Resource: any one supported kind, as a std::variant of the typed structs.
//
// Value type; thread-compatible. Use std::visit / std::get_if to reach the typed
// struct, or the accessors below for what every kind has.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "config/gateway.h"
#include "config/istio.h"
#include "config/kube.h"
#include "config/meta.h"
#include "config/resource_key.h"

namespace ambit::config {

using Resource = std::variant<Namespace, Pod, Service, ServiceAccount, ConfigMap, Deployment,
                              AuthorizationPolicy, PeerAuthentication, RequestAuthentication,
                              VirtualService, DestinationRule, ServiceEntry, Gateway, HttpRoute,
                              GrpcRoute>;

// "Deployment", "HTTPRoute", ...
std::string_view KindOf(const Resource& resource);
// The apiVersion the resource was written with ("apps/v1", "networking.istio.io/v1beta1").
std::string_view ApiVersionOf(const Resource& resource);
const ObjectMeta& MetaOf(const Resource& resource);
ObjectMeta& MutableMetaOf(Resource& resource);
ResourceKey KeyOf(const Resource& resource);
// The same for a typed struct, without building a Resource.
template <typename T>
  requires requires { T::kKind; }
ResourceKey KeyOf(const T& typed) {
  return ResourceKey{std::string(T::kKind), typed.metadata.ns, typed.metadata.name};
}
bool IsNamespaced(const Resource& resource);

}  // namespace ambit::config
