#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "actors/fwd.hpp"
#include "actors/log_inbox.hpp"

namespace gatehouse::storage {
class connection_pool;
} // namespace gatehouse::storage

namespace gatehouse::actors {

class metrics_registry;

/// How long a log entry waits at most before its group commit.
constexpr std::chrono::milliseconds group_commit_interval{100};

/// Entries that trigger a commit before the interval is over.
constexpr size_t group_commit_size = 2000;

/// The longest wait between two attempts while storage fails.
constexpr std::chrono::milliseconds max_retry_interval{5000};

/// The log worker's SQLite page cache when no setting says otherwise
/// (`--log-cache-mib`): it holds the B-tree pages a batch of logs and
/// counters touches, for every org the traffic reaches (10,000 active
/// orgs over a store of 100,000: about 200 MiB). It fills up to its size
/// under any steady traffic (new log pages pass through it), so it is part
/// of the node's resident memory.
constexpr int default_log_cache_mib = 16;

/// WAL pages after which the log worker's commit checkpoints (about
/// 80 MiB): the pages many batches modify are copied to the database once
/// per checkpoint instead of once per batch.
constexpr int log_worker_checkpoint_pages = 20000;

/// After this long without a job, the log worker gives its page cache back.
constexpr std::chrono::seconds log_worker_idle{30};

/// A detached actor that runs the storage writer's `db_job`s one after the
/// other on one connection it keeps leased from `pool` (taking a fresh one
/// once it is found broken), and answers like storage_worker. One
/// connection keeps its page cache: on SQLite, another connection's commit
/// empties a connection's cache, and a batch spread over many orgs reads
/// thousands of index pages back. On SQLite the connection gets a page
/// cache of `cache_mib` MiB, checkpoints every log_worker_checkpoint_pages,
/// and frees its cache once no job came for `idle` (one timer while jobs
/// come, none once idle).
caf::actor spawn_log_worker(caf::actor_system& sys,
                            storage::connection_pool& pool,
                            int cache_mib = default_log_cache_mib,
                            caf::timespan idle = log_worker_idle);

/// State of the storage writer.
struct storage_writer_state {
  caf::actor db; ///< storage workers that run the blocking writes
  std::shared_ptr<log_inbox> inbox;
  std::shared_ptr<metrics_registry> metrics; ///< may be null
  std::vector<log_entry> pending;
  bool tick_armed = false;
  /// Attempts in a row that failed (storage unreachable or busy).
  int failures = 0;
  /// Batches handed to a storage worker and not answered yet.
  int writing = 0;
  /// Flushes waiting for the batches in flight; told whether all of them
  /// committed.
  std::vector<std::function<void(bool)>> drained;
  bool drained_ok = true;
  static inline const char* name = "storage_writer";
};

/// Collects request logs and counter updates off the hot path and has a
/// storage worker write them in one transaction at most every 100 ms (or
/// every 2000 entries). It never blocks itself, so it runs on the scheduler
/// like any actor and costs no thread wake-up per request.
///
/// An entry the database refuses (its data) is isolated by splitting the
/// batch, dropped with a log line and counted in `metrics`; the others are
/// committed. When storage fails otherwise (unreachable, busy), every entry
/// not committed waits for the next attempt, at growing intervals up to
/// `max_retry_interval`; each failed attempt is counted.
///
/// A flush answers once everything handed to it before, including batches
/// already on their way, is committed (true) or one of them failed (false).
storage_writer_actor::behavior_type storage_writer_impl(
  storage_writer_actor::stateful_pointer<storage_writer_state> self,
  caf::actor db, std::shared_ptr<log_inbox> inbox,
  std::shared_ptr<metrics_registry> metrics);

} // namespace gatehouse::actors
