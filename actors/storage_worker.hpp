#pragma once

#include "actors/fwd.hpp"

namespace gatehouse::storage {
class connection_pool;
} // namespace gatehouse::storage

namespace gatehouse::actors {

/// A blocking actor that runs `db_job`s against a pooled connection and
/// answers `true` once the job committed, or an error (`conflict` for a
/// uniqueness violation or a change refused by the last-owner rule,
/// `internal_error` otherwise). Spawn it detached.
caf::behavior storage_worker(caf::event_based_actor* self,
                             storage::connection_pool* pool);

/// A round-robin pool of `n` detached storage workers.
caf::actor spawn_storage_workers(caf::actor_system& sys,
                                 storage::connection_pool& pool, size_t n);

} // namespace gatehouse::actors
