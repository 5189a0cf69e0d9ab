#pragma once

#include <chrono>

#include "actors/fwd.hpp"

namespace gatehouse::storage {
class connection_pool;
class store;
} // namespace gatehouse::storage

namespace gatehouse::actors {

/// How often the sweeper deletes expired request logs.
constexpr std::chrono::minutes retention_sweep_interval{60};

/// Deletes, for every organization, the request logs older than its plan's
/// retention as of `now_s`; returns the number of rows deleted.
long long sweep_expired_logs(storage::store&& db, long long now_s);

/// A detached actor that runs `sweep_expired_logs` every
/// `retention_sweep_interval` (and on `sweep_atom`).
caf::behavior retention_sweeper(caf::event_based_actor* self,
                                storage::connection_pool* pool);

} // namespace gatehouse::actors
