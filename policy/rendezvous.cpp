#include "policy/rendezvous.hpp"

namespace gatehouse::policy {

namespace {

constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

std::uint64_t fnv1a(std::uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= fnv_prime;
  }
  return h;
}

/// SplitMix64's finalizer: spreads FNV's weak low-entropy bits over the
/// whole word, so that weights of similar ids are independent.
std::uint64_t mix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

} // namespace

std::uint64_t rendezvous_weight(std::string_view node_id,
                                std::string_view org_id) {
  // The length of the node id separates the two parts: ("ab", "c") and
  // ("a", "bc") hash differently.
  auto h = fnv1a(fnv_offset, node_id);
  h = mix(h ^ node_id.size());
  return mix(fnv1a(h, org_id));
}

std::string home_node(const std::vector<std::string>& node_ids,
                      std::string_view org_id) {
  const std::string* best = nullptr;
  std::uint64_t best_weight = 0;
  for (const auto& id : node_ids) {
    auto w = rendezvous_weight(id, org_id);
    if (best == nullptr || w > best_weight
        || (w == best_weight && id < *best)) {
      best = &id;
      best_weight = w;
    }
  }
  return best ? *best : std::string{};
}

} // namespace gatehouse::policy
