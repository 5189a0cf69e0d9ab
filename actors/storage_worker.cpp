#include "actors/storage_worker.hpp"

#include <spdlog/spdlog.h>

#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

caf::behavior storage_worker(caf::event_based_actor* self,
                             storage::connection_pool* pool) {
  return {
    [=](db_job& job) -> caf::result<bool> {
      try {
        auto lease = pool->acquire();
        storage::store st{*lease};
        job.run(st);
        return true;
      } catch (const storage::conflict_error& e) {
        return to_error(policy::make_problem(
          policy::errc::conflict, "conflicts with an existing record ("
                                    + e.constraint + ")"));
      } catch (const storage::last_owner_error& e) {
        return to_error(policy::make_problem(policy::errc::conflict, e.what()));
      } catch (const std::exception& e) {
        spdlog::error("storage job failed: {}", e.what());
        return to_error(policy::make_problem(policy::errc::internal_error,
                                             "storage failure"));
      }
    },
  };
}

caf::actor spawn_storage_workers(caf::actor_system& sys,
                                 storage::connection_pool& pool, size_t n) {
  auto factory = [&sys, p = &pool] {
    return sys.spawn<caf::detached>(storage_worker, p);
  };
  return caf::actor_pool::make(sys.dummy_execution_unit(), n, factory,
                               caf::actor_pool::round_robin());
}

} // namespace gatehouse::actors
