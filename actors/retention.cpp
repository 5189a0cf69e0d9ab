#include "actors/retention.hpp"

#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/views.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

long long sweep_expired_logs(storage::store&& db, long long now_s) {
  long long deleted = 0;
  for (auto& id : db.list_org_ids()) {
    auto org = db.find_org(id);
    if (!org)
      continue;
    auto days = effective_settings(*org)["log_retention_days"];
    if (!days.is_number_integer())
      continue; // kept forever
    auto cutoff = now_s - days.get<long long>() * 24 * 3600;
    deleted += db.delete_logs_before(id, policy::rfc3339_ms(cutoff * 1000));
  }
  return deleted;
}

caf::behavior retention_sweeper(caf::event_based_actor* self,
                                storage::connection_pool* pool) {
  self->delayed_send(self, retention_sweep_interval, sweep_atom_v);
  return {
    [=](sweep_atom) {
      try {
        auto lease = pool->acquire();
        auto n = sweep_expired_logs(storage::store{*lease},
                                    static_cast<long long>(std::time(nullptr)));
        if (n > 0)
          spdlog::info("retention: deleted {} expired request logs", n);
      } catch (const std::exception& e) {
        spdlog::error("retention sweep failed: {}", e.what());
      }
      self->delayed_send(self, retention_sweep_interval, sweep_atom_v);
    },
  };
}

} // namespace gatehouse::actors
