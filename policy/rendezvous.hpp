#pragma once

// Which node is an org's home: rendezvous (highest random weight) hashing.
// Every node computes the same answer from the same member list, and a
// node joining or leaving moves only the orgs it wins or held (about 1/N).

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::policy {

/// The weight of `node_id` for `org_id`: a 64-bit hash of both, stable
/// across processes, builds and platforms.
std::uint64_t rendezvous_weight(std::string_view node_id,
                                std::string_view org_id);

/// The home node of `org_id` among `node_ids`: the one of highest weight
/// (ties, which need equal 64-bit hashes, go to the smaller id). Empty when
/// `node_ids` is empty. The order of `node_ids` does not matter.
std::string home_node(const std::vector<std::string>& node_ids,
                      std::string_view org_id);

} // namespace gatehouse::policy
