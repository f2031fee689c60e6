#include "config/resource.h"

#include <type_traits>

namespace ambit::config {

std::string_view KindOf(const Resource& resource) {
  return std::visit([](const auto& r) -> std::string_view { return r.kKind; }, resource);
}

std::string_view ApiVersionOf(const Resource& resource) {
  return std::visit(
      [](const auto& r) -> std::string_view {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { T::kApiVersion; }) {
          return T::kApiVersion;
        } else {
          return r.api_version;
        }
      },
      resource);
}

const ObjectMeta& MetaOf(const Resource& resource) {
  return std::visit([](const auto& r) -> const ObjectMeta& { return r.metadata; }, resource);
}

ObjectMeta& MutableMetaOf(Resource& resource) {
  return std::visit([](auto& r) -> ObjectMeta& { return r.metadata; }, resource);
}

ResourceKey KeyOf(const Resource& resource) {
  const ObjectMeta& meta = MetaOf(resource);
  return ResourceKey{std::string(KindOf(resource)), meta.ns, meta.name};
}

bool IsNamespaced(const Resource& resource) {
  return std::visit([](const auto& r) { return r.kNamespaced; }, resource);
}

}  // namespace ambit::config
