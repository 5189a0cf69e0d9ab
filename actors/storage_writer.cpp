#include "actors/storage_writer.hpp"

#include <memory>

#include <spdlog/spdlog.h>

#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = storage_writer_actor::stateful_pointer<storage_writer_state>;

/// Beyond this many unwritten entries (storage down), the oldest go.
constexpr size_t max_pending = 200'000;

/// One batch, in the form the store writes it.
struct batch {
  std::vector<log_entry> entries;

  void write(storage::store& st) const {
    std::vector<storage::request_log_record> logs;
    std::vector<storage::usage_delta> deltas;
    std::vector<storage::key_use> keys;
    logs.reserve(entries.size());
    for (auto& e : entries) {
      logs.push_back(e.log);
      deltas.insert(deltas.end(), e.deltas.begin(), e.deltas.end());
      if (e.key)
        keys.push_back(*e.key);
    }
    st.write_batch(logs, deltas, keys);
  }
};

void arm_tick(state_ptr self);

/// Hands everything pending to a storage worker; `done` learns whether it
/// was committed. A failed batch goes back to the front of the queue.
template <class Done>
void write_pending(state_ptr self, Done done) {
  auto& st = self->state;
  if (st.pending.empty())
    return done(true);
  auto b = std::make_shared<batch>();
  b->entries.swap(st.pending);
  self->request(st.db, caf::infinite,
                db_job{[b](storage::store& s) { b->write(s); }})
    .then([done](bool) mutable { done(true); },
          [self, b, done](caf::error&) mutable {
            auto& st = self->state;
            spdlog::error("writing {} request logs failed; will retry",
                          b->entries.size());
            st.pending.insert(st.pending.begin(),
                              std::make_move_iterator(b->entries.begin()),
                              std::make_move_iterator(b->entries.end()));
            if (st.pending.size() > max_pending) {
              auto drop = st.pending.size() - max_pending;
              spdlog::error("dropping {} unwritten request logs", drop);
              st.pending.erase(st.pending.begin(),
                               st.pending.begin() + static_cast<long>(drop));
            }
            arm_tick(self);
            done(false);
          });
}

/// Moves what the I/O threads left in the inbox to the pending entries.
void take_inbox(state_ptr self) {
  auto& st = self->state;
  if (!st.inbox)
    return;
  auto more = st.inbox->take();
  st.pending.insert(st.pending.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
}

void arm_tick(state_ptr self) {
  if (self->state.tick_armed)
    return;
  self->state.tick_armed = true;
  self->delayed_send(self, group_commit_interval, tick_atom_v);
}

} // namespace

storage_writer_actor::behavior_type
storage_writer_impl(state_ptr self, caf::actor db,
                    std::shared_ptr<log_inbox> inbox) {
  self->state.db = std::move(db);
  self->state.inbox = std::move(inbox);
  auto queued = [self] {
    auto& st = self->state;
    if (st.pending.size() >= group_commit_size)
      write_pending(self, [](bool) {});
    else if (!st.pending.empty())
      arm_tick(self);
  };
  return {
    [=](log_atom, log_entry& entry) {
      self->state.pending.push_back(std::move(entry));
      queued();
    },
    [=](log_atom) {
      take_inbox(self);
      queued();
    },
    [=](tick_atom) {
      self->state.tick_armed = false;
      take_inbox(self);
      write_pending(self, [](bool) {});
    },
    [=](flush_atom) {
      take_inbox(self);
      auto rp = self->make_response_promise<bool>();
      write_pending(self, [rp](bool ok) mutable { rp.deliver(ok); });
      return rp;
    },
  };
}

} // namespace gatehouse::actors
