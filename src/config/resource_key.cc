#include "config/resource_key.h"

namespace ambit::config {

std::string ResourceKey::ToString() const {
  if (ns.empty()) return kind + " " + name;
  return kind + " " + ns + "/" + name;
}

std::size_t ResourceKeyHash::operator()(const ResourceKey& key) const {
  std::hash<std::string> h;
  std::size_t seed = h(key.kind);
  seed ^= h(key.ns) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  seed ^= h(key.name) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
  return seed;
}

}  // namespace ambit::config
