#include "xds/resource_store.h"

#include <google/protobuf/any.pb.h>

namespace ambit::xds {
namespace {

Status CheckType(std::string_view type_url, const std::string& name,
                 const google::protobuf::Message& message) {
  std::string actual = TypeUrlOf(message);
  if (actual != type_url) {
    return Error(ErrorCode::kInvalidArgument, "resource '" + name + "' is a " + actual +
                                                  ", not a " + std::string(type_url));
  }
  return Ok();
}

}  // namespace

std::shared_ptr<const TypeSnapshot> ResourceStore::Get(std::string_view type_url) const {
  static const auto kEmpty = std::make_shared<const TypeSnapshot>();
  std::lock_guard lock(mu_);
  auto it = types_.find(type_url);
  return it == types_.end() ? kEmpty : it->second;
}

uint64_t ResourceStore::revision() const {
  std::lock_guard lock(mu_);
  return revision_;
}

void ResourceStore::AddListener(Listener listener) {
  std::lock_guard lock(mu_);
  listeners_.push_back(std::move(listener));
}

Result<StoreChange> ResourceStore::SetAll(
    std::string_view type_url, const std::map<std::string, const google::protobuf::Message*>& resources) {
  for (const auto& [name, message] : resources) {
    AMBIT_RETURN_IF_ERROR(CheckType(type_url, name, *message));
  }
  std::lock_guard write_lock(write_mu_);
  auto base = Get(type_url);
  auto next = std::make_shared<TypeSnapshot>();
  StoreChange change;
  for (const auto& [name, message] : resources) {
    VersionedResource r = MakeVersionedResource(name, *message);
    auto old = base->find(name);
    if (old == base->end() || old->second.version != r.version) {
      change.upserted.push_back(name);
      next->emplace(name, std::move(r));
    } else {
      next->emplace(name, old->second);
    }
  }
  for (const auto& [name, r] : *base) {
    if (!resources.contains(name)) change.removed.push_back(name);
  }
  Commit(type_url, std::move(next), change);
  return change;
}

Result<StoreChange> ResourceStore::Set(std::string_view type_url, std::string name,
                                       const google::protobuf::Message& message) {
  AMBIT_RETURN_IF_ERROR(CheckType(type_url, name, message));
  VersionedResource r = MakeVersionedResource(name, message);
  std::lock_guard write_lock(write_mu_);
  auto base = Get(type_url);
  StoreChange change;
  auto old = base->find(name);
  if (old != base->end() && old->second.version == r.version) return change;
  auto next = std::make_shared<TypeSnapshot>(*base);
  (*next)[name] = std::move(r);
  change.upserted.push_back(std::move(name));
  Commit(type_url, std::move(next), change);
  return change;
}

StoreChange ResourceStore::Remove(std::string_view type_url, std::string_view name) {
  std::lock_guard write_lock(write_mu_);
  auto base = Get(type_url);
  StoreChange change;
  auto old = base->find(name);
  if (old == base->end()) return change;
  auto next = std::make_shared<TypeSnapshot>(*base);
  next->erase(std::string(name));
  change.removed.emplace_back(name);
  Commit(type_url, std::move(next), change);
  return change;
}

void ResourceStore::Commit(std::string_view type_url, std::shared_ptr<const TypeSnapshot> next,
                           const StoreChange& change) {
  if (change.empty()) return;
  std::vector<Listener> listeners;
  {
    std::lock_guard lock(mu_);
    types_[std::string(type_url)] = std::move(next);
    ++revision_;
    listeners = listeners_;
  }
  for (const Listener& l : listeners) l(type_url, change);
}

}  // namespace ambit::xds
