#pragma once

// Team budgets exact across a cluster. Each org has one home node
// (rendezvous hashing over the members that are up); its org actor keeps
// the ledger of record of every team and grants the other members leases,
// slices of what remains, that they admit requests from locally with the
// same compare-and-swap ledger a single node uses. A member whose lease
// cannot cover a request asks the home (one round trip); near the cap the
// home grants exactly one request's estimate, and before it refuses it
// calls unused leases back, so no budget is stranded. A new home (after a
// membership change, or when its org actor starts) collects every member's
// requests in flight, after they stored their spend, and rebuilds the
// ledger from storage. docs/cluster.md has the whole design.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

class cluster_view;
class cluster_routes;
struct org_state;

/// What an org actor needs of the cluster.
struct cluster_link {
  std::shared_ptr<cluster_view> view;
  std::shared_ptr<cluster_routes> routes;
};

/// A request waiting for budget in the org actor.
struct lease_waiter {
  proxy_request req;
  auth_reply reply;
  std::int64_t need = 0; ///< its estimate
};

/// Requests waiting for the home's answer, and the ask in flight for them
/// (a team's budget or a key's rate).
struct pending_ask {
  std::vector<lease_waiter> waiting;
  bool asking = false;   ///< an ask is in flight
  std::uint64_t seq = 0; ///< its number: its answer and deadline carry it
  int tries = 0;         ///< asks in a row that found no answer

  /// Whether `n` is the number of the ask in flight.
  bool in_flight(std::uint64_t n) const { return asking && seq == n; }

  /// No ask in flight, and the next one starts counting tries afresh (an
  /// answer came, or the home changed).
  void settle() {
    asking = false;
    tries = 0;
  }
};

/// A lease the home granted to a member, as the home keeps it.
struct lease_out {
  /// Granted minus given back: what the member's ledger has as its limit.
  std::int64_t amount = 0;
  /// Granted since the member last gave back its rest: calling back may
  /// find something.
  bool may_have_rest = false;
  caf::actor holder; ///< the member's org actor
};

/// One team's lease state in an org actor.
struct team_leases {
  // -- on the home --
  std::map<std::string, lease_out> out; ///< by member node id
  /// Asks waiting for a call-back round or for the rebuild.
  std::vector<std::pair<lease_ask, caf::actor>> asks;
  int recalls_pending = 0;
  // -- everywhere: requests waiting for budget; on a member, the ask --
  pending_ask pending;
  /// In flight in ledgers this node replaced since a home last collected.
  std::int64_t unreported = 0;
};

/// Requests of one key waiting for its home's word on its rate limit.
struct key_waits {
  pending_ask pending;
  std::size_t asked = 0; ///< waiters the ask in flight covers
};

/// An org actor's part in the cluster.
struct lease_book {
  std::string home;        ///< the org's home as this node last computed it
  bool rebuilding = false; ///< this node is home and collects the org
  std::uint64_t rebuild_seq = 0;
  std::vector<std::string> collect_pending; ///< members yet to answer
  std::map<std::string, std::int64_t> collected; ///< team -> in flight
  std::uint64_t next_seq = 1;
  /// Deadlines: sequence number -> team (asks and call-backs).
  std::map<std::uint64_t, std::string> deadlines;
  std::map<std::string, team_leases> teams;
  /// Rate-limited keys with requests waiting (by key id).
  std::map<std::string, key_waits> keys;
  /// Deadlines of rate asks: sequence number -> key.
  std::map<std::uint64_t, std::string> rate_deadlines;
  /// The home's org actor, from its last grant (where leases go back).
  caf::actor home_actor;
};

using org_self = org_actor::stateful_pointer<org_state>;

/// True when the org's budgets are shared with other members.
bool clustered(const org_state& st);

/// True when this node decides the org's budgets (always on a single node).
bool is_home(const org_state& st);

/// Sets a ledger's limit from its team's cap as this node's role wants it:
/// the cap on the home (and on a single node), the lease on a member (a
/// fresh ledger starts with none and defers its refusals).
void shape_ledger(const org_state& st, const storage::team_record& rec,
                  team_ledger& ledger, bool fresh);

/// At spawn: works out the home; a home with members to ask collects the
/// org first.
void lease_start(org_self self);

/// The members changed: takes up or gives up the home role.
void lease_rehome(org_self self);

/// Handlers of the lease messages (see actors/fwd.hpp).
void lease_miss(org_self self, proxy_request req, auth_reply reply);
/// Parks a request that `a` (its authorization, rate-limit hit taken)
/// deferred, until budget is found or refused.
void lease_wait(org_self self, proxy_request req, auth_reply reply,
                const authorization& a);
void lease_low(org_self self, const std::string& team_id,
               std::int64_t estimate);
void lease_on_ask(org_self self, lease_ask ask, caf::actor reply_to);
void lease_on_grant(org_self self, const lease_grant& g);
void lease_on_recall(org_self self, const std::string& team_id,
                     const std::string& month);
void lease_on_return(org_self self, const lease_return& r);
void lease_on_collect(org_self self, const std::string& month,
                      const std::string& home, caf::actor reply_to);
void lease_on_collected(org_self self, const lease_collected& c);
void lease_on_timer(org_self self, int32_t kind, std::uint64_t seq);

/// A new month began: leases of the old one are void.
void lease_month_rolled(org_state& st);

/// True when nothing of the org's leases lives only in this actor: no
/// request waits, the home has nothing leased out, and nothing is being
/// collected. The actor may then passivate (after lease_close).
bool lease_idle(const org_state& st);

/// Before passivating on a member: gives every lease back to the home.
void lease_close(org_self self);

/// This node's own requests in flight for a team's ledger (leases out
/// excluded on the home).
std::int64_t own_in_flight(const org_state& st, const std::string& team_id);

} // namespace gatehouse::actors
