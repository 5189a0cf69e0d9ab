#pragma once

// How this node's actors reach the other members: the membership actor of
// each authenticated member (to which org-level messages for that node are
// addressed) and the CAF node of each, so that a message arriving from
// another process can be checked to come from a member. Written by the
// membership actor, read by org actors. Thread-safe.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <caf/actor.hpp>
#include <caf/node_id.hpp>

#include "actors/messages.hpp"
#include "policy/prometheus.hpp"

namespace gatehouse::actors {

/// Lease messages this node sends, by kind (counted for the metrics).
enum class lease_msg {
  ask,       ///< a member asks a home for budget
  grant,     ///< a home answers an ask
  recall,    ///< a home calls a lease's rest back
  give_back, ///< a member gives budget back
  collect,   ///< a new home collects an org from a member
  collected, ///< a member's answer to a collect
};

class cluster_routes {
public:
  /// Delivers a member's lease_ask to the org's actor on this node
  /// (spawning it when needed); installed by the gateway.
  using ask_router = std::function<void(lease_ask, caf::actor reply_to)>;
  /// Delivers a new home's collect to the org's actor on this node, or
  /// answers for an org that has none here; installed by the gateway.
  using collect_router = std::function<void(
    const std::string& org_id, const std::string& month,
    const std::string& home, caf::actor reply_to)>;

  /// Records an authenticated member and its membership actor.
  void add(const std::string& node_id, const caf::actor& membership);

  /// Forgets a member whose connection is gone.
  void remove(const std::string& node_id);

  /// The membership actor of `node_id`, if it is a member.
  caf::actor membership_of(const std::string& node_id) const;

  /// True if `node` is this process or an authenticated member's.
  bool is_member_node(const caf::node_id& node) const;

  /// This process's CAF node (set once at start).
  void set_self(const caf::node_id& self) {
    std::lock_guard<std::mutex> lock{mtx_};
    self_ = self;
  }

  void set_routers(ask_router ask, collect_router collect) {
    std::lock_guard<std::mutex> lock{mtx_};
    ask_ = std::move(ask);
    collect_ = std::move(collect);
  }

  /// Hands a lease_ask to the router; false when none is installed.
  bool route(lease_ask ask, caf::actor reply_to) const;

  /// Hands a collect to the router; false when none is installed.
  bool route_collect(const std::string& org_id, const std::string& month,
                     const std::string& home, caf::actor reply_to) const;

  /// Request estimates a member asks for at once (--cluster-lease-slice).
  void set_lease_slice(int slice) {
    lease_slice_.store(slice, std::memory_order_relaxed);
  }
  int lease_slice() const {
    return lease_slice_.load(std::memory_order_relaxed);
  }

  /// Counts a lease message sent.
  void count(lease_msg kind) {
    sent_[static_cast<std::size_t>(kind)].fetch_add(
      1, std::memory_order_relaxed);
  }

  /// Counts a new home's rebuild of an org's ledgers.
  void count_rebuild() {
    rebuilds_.fetch_add(1, std::memory_order_relaxed);
  }

  /// Writes the lease series.
  void describe(policy::metrics_text& out) const;

private:
  std::array<std::atomic<std::uint64_t>, 6> sent_{};
  std::atomic<std::uint64_t> rebuilds_{0};
  std::atomic<int> lease_slice_{64};
  mutable std::mutex mtx_;
  caf::node_id self_;
  std::map<std::string, caf::actor> members_;
  ask_router ask_;
  collect_router collect_;
};

} // namespace gatehouse::actors
