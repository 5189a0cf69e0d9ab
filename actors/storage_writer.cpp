#include "actors/storage_writer.hpp"

#include <spdlog/spdlog.h>

#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = storage_writer_actor::stateful_pointer<storage_writer_state>;

/// Beyond this many unwritten entries (storage down), the oldest go.
constexpr size_t max_pending = 200'000;

/// Writes everything pending; on failure keeps it for the next attempt.
bool write_pending(state_ptr self) {
  auto& st = self->state;
  if (st.pending.empty())
    return true;
  std::vector<storage::request_log_record> logs;
  std::vector<storage::usage_delta> deltas;
  std::vector<storage::key_use> keys;
  logs.reserve(st.pending.size());
  for (auto& e : st.pending) {
    logs.push_back(e.log);
    deltas.insert(deltas.end(), e.deltas.begin(), e.deltas.end());
    if (e.key)
      keys.push_back(*e.key);
  }
  try {
    auto lease = st.pool->acquire();
    storage::store{*lease}.write_batch(logs, deltas, keys);
    st.pending.clear();
    return true;
  } catch (const std::exception& e) {
    spdlog::error("writing {} request logs failed: {}", logs.size(),
                  e.what());
    if (st.pending.size() > max_pending) {
      auto drop = st.pending.size() - max_pending;
      spdlog::error("dropping {} unwritten request logs", drop);
      st.pending.erase(st.pending.begin(),
                       st.pending.begin() + static_cast<long>(drop));
    }
    return false;
  }
}

void arm_tick(state_ptr self) {
  if (self->state.tick_armed)
    return;
  self->state.tick_armed = true;
  self->delayed_send(self, group_commit_interval, tick_atom_v);
}

} // namespace

storage_writer_actor::behavior_type
storage_writer_impl(state_ptr self, storage::connection_pool* pool) {
  self->state.pool = pool;
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Nothing written is lost on an orderly stop.
    write_pending(self);
    self->quit(msg.reason);
  });
  return {
    [=](log_atom, log_entry& entry) {
      auto& st = self->state;
      st.pending.push_back(std::move(entry));
      if (st.pending.size() >= group_commit_size)
        write_pending(self);
      else
        arm_tick(self);
    },
    [=](tick_atom) {
      self->state.tick_armed = false;
      if (!write_pending(self))
        arm_tick(self);
    },
    [=](flush_atom) { return write_pending(self); },
  };
}

} // namespace gatehouse::actors
