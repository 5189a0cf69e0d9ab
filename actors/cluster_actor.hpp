#pragma once

// The membership actor: the one owner of this node's view of the cluster.
// It serves cluster traffic on the listen address, connects to the
// configured peers (retrying with backoff while they are down),
// authenticates every peer with the shared secret before it becomes a
// member, exchanges heartbeats and publishes each change to the
// cluster_view. Included only by actors/*.cpp: it needs CAF's middleman.

#include <chrono>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/cluster.hpp"
#include "actors/cluster_routes.hpp"

namespace gatehouse::actors {

/// How often a member sends heartbeats.
constexpr std::chrono::milliseconds heartbeat_interval{500};

/// A member silent for this long is down.
constexpr std::chrono::milliseconds heartbeat_timeout{3000};

/// How long a node whose peers all stay unreachable waits before it serves
/// alone (its /readyz answers 503 until then).
constexpr std::chrono::milliseconds join_wait{5000};

/// Spawns the membership actor of `opts` in `sys` (whose middleman must be
/// loaded) and publishes it on the cluster listen address. Throws
/// std::runtime_error when the address cannot be bound.
/// Members' actors are recorded in `routes`, through which lease messages
/// of other members reach this node's org actors.
caf::actor spawn_membership(caf::actor_system& sys, cluster_options opts,
                            std::shared_ptr<cluster_view> view,
                            std::shared_ptr<cluster_routes> routes);

/// Tells the membership actor that this node is stopping: it announces
/// `leaving` to every member and accepts no new peer.
void announce_leaving(const caf::actor& membership);

} // namespace gatehouse::actors
