#pragma once

// The cluster as the rest of the node sees it: who the members are and in
// which state, read without CAF. The membership actor
// (actors/cluster_actor.hpp) is the only writer; anything may read the
// current list or subscribe to its changes.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "policy/prometheus.hpp"

namespace gatehouse::actors {

/// A member's state as this node sees it.
enum class member_state {
  /// Authenticated and heard from within the heartbeat timeout.
  up,
  /// Silent for the heartbeat timeout, or its connection was lost.
  down,
  /// Announced a graceful stop and is draining.
  leaving,
};

/// "up", "down" or "leaving".
const char* to_string(member_state s);

/// One member of the cluster.
struct cluster_member {
  /// Its --node-id.
  std::string node_id;
  /// Its cluster address, HOST:PORT.
  std::string address;
  /// Its state as this node sees it.
  member_state state = member_state::up;
};

/// What a node needs to join a cluster.
struct cluster_options {
  /// This node's id.
  std::string node_id;
  /// Address and port cluster traffic is served on.
  std::string listen_host;
  unsigned short listen_port = 0;
  /// Cluster addresses (HOST:PORT) of the peers to connect to.
  std::vector<std::string> peers;
  /// The secret every member proves it holds.
  std::string secret;
  /// Fingerprints (policy::secret_fingerprint) of the secrets every member
  /// must share, compared at the handshake.
  std::string master_key_fingerprint;
  std::string jwt_secret_fingerprint;
  /// Request estimates of a team budget a member leases at once.
  int lease_slice = 64;
};

/// The member list, shared between the membership actor and its readers.
/// Thread-safe.
class cluster_view {
public:
  /// Called with the whole member list (this node included) after each
  /// change, on the membership actor's thread; must not block.
  using listener = std::function<void(const std::vector<cluster_member>&)>;

  /// The view of a node named `self_id`, reachable at `self_address`
  /// (empty on a single node). A single node has joined from the start.
  cluster_view(std::string self_id, std::string self_address, bool clustered);

  /// This node's id.
  const std::string& self_id() const {
    return self_id_;
  }

  /// True in cluster mode.
  bool clustered() const {
    return clustered_;
  }

  /// Every member, this node first, then the others by node id.
  std::vector<cluster_member> members() const;

  /// The ids of the members that may be home to orgs: this node (unless it
  /// is leaving) and every peer that is up.
  std::vector<std::string> home_candidates() const;

  /// True once this node has authenticated with a peer, or waited long
  /// enough alone, or is a single node.
  bool joined() const {
    return joined_.load(std::memory_order_acquire);
  }

  /// Peers refused at the handshake (wrong secret, mismatched shared
  /// secrets, a clashing node id) since start.
  std::uint64_t peer_refusals() const {
    return refusals_.load(std::memory_order_relaxed);
  }

  /// Adds a listener; answers its id for unsubscribe().
  std::size_t subscribe(listener fn);

  /// Removes a listener.
  void unsubscribe(std::size_t id);

  // -- written by the membership actor --------------------------------------

  /// Replaces the peers (this node excluded) and this node's own state,
  /// then tells the listeners.
  void publish(std::vector<cluster_member> peers, member_state self_state);

  /// Records that the node has joined.
  void mark_joined() {
    joined_.store(true, std::memory_order_release);
  }

  /// Counts a refused peer.
  void count_refusal() {
    refusals_.fetch_add(1, std::memory_order_relaxed);
  }

private:
  const std::string self_id_;
  const std::string self_address_;
  const bool clustered_;
  std::atomic<bool> joined_;
  std::atomic<std::uint64_t> refusals_{0};
  mutable std::mutex mtx_;
  member_state self_state_ = member_state::up;
  std::vector<cluster_member> peers_;
  std::map<std::size_t, listener> listeners_;
  std::size_t next_listener_ = 0;
};

/// Writes the cluster's series: members by state (this node included),
/// refused peers, and whether the node has joined.
void describe_cluster(const cluster_view& view, policy::metrics_text& out);

} // namespace gatehouse::actors
