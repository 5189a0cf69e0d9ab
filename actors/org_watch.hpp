#pragma once

// The node-wide watch over org actors: one actor with one timer, whatever
// the number of organizations. It replaces a timer per org actor.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "actors/fwd.hpp"

namespace gatehouse::actors {

class directory;
class metrics_registry;

/// How the org watch works.
struct org_watch_config {
  /// An org actor unused for this long passivates.
  std::chrono::seconds idle_timeout{300};
  /// How often the change log is read (and the timer runs).
  std::chrono::milliseconds change_interval{1000};
  /// How often the change log is read while `listening()` is true: changes
  /// are then announced (`refresh_atom`) and the read is only a safety net.
  std::chrono::milliseconds fallback_interval{10000};
  /// True while change notifications arrive (empty: never).
  std::function<bool()> listening;
  /// Changes up to this one were made before the node started.
  std::int64_t start_after = 0;
  /// Changes older than this are deleted from the log (every node has read
  /// them long before).
  std::chrono::seconds change_retention{3600};
  /// The clock, in milliseconds since the epoch.
  std::function<std::int64_t()> now_ms;
};

/// How often the idle sweep runs for an idle timeout: a quarter of it,
/// between 1 and 30 seconds.
std::chrono::seconds sweep_interval(std::chrono::seconds idle_timeout);

/// State of the org watch.
struct org_watch_state {
  std::shared_ptr<directory> dir;
  caf::actor db; ///< storage workers
  org_watch_config cfg;
  std::int64_t cursor = 0;  ///< the last change told
  bool reading = false;     ///< a read of the change log is under way
  bool again = false;       ///< a change was announced during the read
  int ticks_since_read = 0; ///< timer ticks since the last read began
  std::int64_t next_sweep_ms = 0;
  std::int64_t next_prune_ms = 0;
  static inline const char* name = "org_watch";
};

/// When told a change was committed (`refresh_atom`, from the change
/// listener), and every `change_interval` (`fallback_interval` while
/// listening), reads the changes logged since the last one it saw (one
/// indexed query, however many organizations there are), brings the
/// directory's key hashes of the orgs concerned up to date and tells their
/// live actors to read the org again; orgs without an actor need nothing
/// more, they load fresh when next used. Every
/// sweep_interval(), tells the live org actors that no request or call has
/// used for `idle_timeout` to passivate (see org_actor_impl). Answers
/// `tick_atom` (its timer) and `sweep_atom` (sweep now, for tests and
/// shutdown).
caf::behavior org_watch(caf::stateful_actor<org_watch_state>* self,
                        std::shared_ptr<directory> dir, caf::actor db,
                        org_watch_config cfg);

} // namespace gatehouse::actors
