#include "actors/storage_writer.hpp"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "actors/metrics.hpp"
#include "storage/database.hpp"
#include "storage/errors.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = storage_writer_actor::stateful_pointer<storage_writer_state>;

/// Beyond this many unwritten entries (storage down), the oldest go.
constexpr size_t max_pending = 200'000;

/// One batch on its way to a storage worker. The worker fills `settled`;
/// the writer reads it once the answer arrived.
struct batch {
  std::vector<log_entry> entries;
  std::vector<bool> settled; ///< committed or refused, per entry
};

/// The database's reason without the statement it quotes.
std::string_view reason(const char* what) {
  std::string_view text{what};
  return text.substr(0, std::min(text.find(" in: "), std::size_t{200}));
}

/// Writes a batch on a storage worker, isolating refused entries.
db_job write_job(std::shared_ptr<batch> b,
                 std::shared_ptr<metrics_registry> metrics) {
  return db_job{[b, metrics](storage::store& s) {
    s.write_entries(
      b->entries, b->settled,
      [metrics](const log_entry& e, const storage::data_error& why) {
        spdlog::error("request log {} of org {} dropped: the database "
                      "refused it ({})",
                      e.log.id, e.log.org_id, reason(why.what()));
        if (metrics)
          metrics->log_entry_refused();
      });
  }};
}

void arm_tick(state_ptr self);

/// Tells the flushes waiting for the batches in flight, once none is.
void check_drained(state_ptr self) {
  auto& st = self->state;
  if (st.writing > 0)
    return;
  // A batch that failed is pending again: the next flush writes it.
  auto waiting = std::move(st.drained);
  st.drained.clear();
  auto ok = st.drained_ok;
  st.drained_ok = true;
  for (auto& f : waiting)
    f(ok);
}

/// Puts the entries of `b` that were neither committed nor refused back in
/// front of the queue.
void requeue(state_ptr self, batch& b) {
  auto& st = self->state;
  const bool known = b.settled.size() == b.entries.size();
  std::vector<log_entry> again;
  for (size_t i = 0; i < b.entries.size(); ++i)
    if (!known || !b.settled[i])
      again.push_back(std::move(b.entries[i]));
  if (st.metrics)
    st.metrics->log_entries_settled(b.entries.size() - again.size());
  spdlog::error("writing {} request logs failed; will retry", again.size());
  st.pending.insert(st.pending.begin(), std::make_move_iterator(again.begin()),
                    std::make_move_iterator(again.end()));
  if (st.pending.size() > max_pending) {
    auto drop = st.pending.size() - max_pending;
    spdlog::error("dropping {} unwritten request logs", drop);
    if (st.metrics)
      st.metrics->log_entries_overflowed(drop);
    st.pending.erase(st.pending.begin(),
                     st.pending.begin() + static_cast<long>(drop));
  }
}

/// Hands everything pending to a storage worker; `done` learns whether it
/// was committed. What storage could not take goes back to the front of
/// the queue.
template <class Done>
void write_pending(state_ptr self, Done done) {
  auto& st = self->state;
  if (st.pending.empty())
    return done(true);
  auto b = std::make_shared<batch>();
  b->entries.swap(st.pending);
  ++st.writing;
  self->request(st.db, caf::infinite, write_job(b, st.metrics))
    .then(
      [self, b, done](bool) mutable {
        auto& st = self->state;
        --st.writing;
        if (st.metrics)
          st.metrics->log_entries_settled(b->entries.size());
        if (st.failures > 0)
          spdlog::info("request logs are written again after {} failed "
                       "attempts",
                       st.failures);
        st.failures = 0;
        done(true);
        check_drained(self);
      },
      [self, b, done](caf::error&) mutable {
        auto& st = self->state;
        --st.writing;
        st.drained_ok = false;
        ++st.failures;
        if (st.metrics)
          st.metrics->log_write_failed();
        requeue(self, *b);
        arm_tick(self);
        done(false);
        check_drained(self);
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

/// The wait before the next attempt: the group commit interval, doubled
/// for each failed attempt in a row, at most max_retry_interval.
std::chrono::milliseconds next_interval(int failures) {
  auto wait = group_commit_interval;
  for (int i = 0; i < failures && wait < max_retry_interval; ++i)
    wait *= 2;
  return std::min(wait, max_retry_interval);
}

void arm_tick(state_ptr self) {
  if (self->state.tick_armed)
    return;
  self->state.tick_armed = true;
  self->delayed_send(self, next_interval(self->state.failures), tick_atom_v);
}

/// State of the log worker: its connection, leased for as long as it works.
struct log_worker_state {
  std::optional<storage::connection_pool::lease> lease;
  std::uint64_t jobs = 0;          ///< jobs run so far
  std::uint64_t jobs_at_check = 0; ///< when the idle check was armed
  bool check_armed = false;
  static inline const char* name = "log_worker";
};

/// Settings of the log worker's connection (see spawn_log_worker).
void tune_log_connection(storage::database& db, int cache_mib) {
  if (db.dialect() != "sqlite")
    return;
  // A negative cache_size is a size in KiB, whatever the page size.
  db.run_script("PRAGMA cache_size=" + std::to_string(-1024LL * cache_mib)
                + ";PRAGMA wal_autocheckpoint="
                + std::to_string(log_worker_checkpoint_pages) + ";");
}

/// Frees the page cache of the log worker's connection (what is not in
/// use: all of it between jobs).
void release_cache(storage::connection_pool::lease& lease) {
  if (lease->dialect() != "sqlite")
    return;
  try {
    lease->run_script("PRAGMA shrink_memory;");
  } catch (const std::exception& e) {
    spdlog::warn("log worker: cannot free its page cache: {}", e.what());
  }
}

caf::behavior log_worker(caf::stateful_actor<log_worker_state>* self,
                         storage::connection_pool* pool, int cache_mib,
                         caf::timespan idle) {
  auto arm_check = [self, idle] {
    auto& st = self->state;
    st.check_armed = true;
    st.jobs_at_check = st.jobs;
    self->delayed_send(self, idle, tick_atom_v);
  };
  return {
    [=](tick_atom) {
      auto& st = self->state;
      st.check_armed = false;
      if (st.jobs != st.jobs_at_check)
        arm_check(); // busy: look again later
      else if (st.lease)
        release_cache(*st.lease);
    },
    [=](db_job& job) -> caf::result<bool> {
      auto& lease = self->state.lease;
      ++self->state.jobs;
      if (!self->state.check_armed)
        arm_check();
      try {
        if (lease && !(*lease)->is_open())
          lease.reset(); // back to the pool, which replaces it
        if (!lease) {
          auto fresh = pool->acquire();
          tune_log_connection(*fresh, cache_mib);
          lease.emplace(std::move(fresh));
        }
        storage::store st{**lease};
        job.run(st);
        return true;
      } catch (const storage::conflict_error& e) {
        return to_error(policy::make_problem(
          policy::errc::conflict,
          "conflicts with an existing record (" + e.constraint + ")"));
      } catch (const std::exception& e) {
        spdlog::error("storage job failed: {}", e.what());
        return to_error(policy::make_problem(policy::errc::internal_error,
                                             "storage failure"));
      }
    },
  };
}

} // namespace

caf::actor spawn_log_worker(caf::actor_system& sys,
                            storage::connection_pool& pool, int cache_mib,
                            caf::timespan idle) {
  return sys.spawn<caf::detached>(log_worker, &pool, cache_mib, idle);
}

storage_writer_actor::behavior_type
storage_writer_impl(state_ptr self, caf::actor db,
                    std::shared_ptr<log_inbox> inbox,
                    std::shared_ptr<metrics_registry> metrics) {
  self->state.db = std::move(db);
  self->state.inbox = std::move(inbox);
  self->state.metrics = std::move(metrics);
  auto queued = [self] {
    auto& st = self->state;
    // While storage fails, only the tick tries again.
    if (st.pending.size() >= group_commit_size && st.failures == 0)
      write_pending(self, [](bool) {});
    else if (!st.pending.empty())
      arm_tick(self);
  };
  return {
    [=](log_atom, log_entry& entry) {
      if (self->state.metrics)
        self->state.metrics->log_entry_queued();
      self->state.pending.push_back(std::move(entry));
      queued();
    },
    [=](log_atom) {
      // Rung by the first entry after a commit: wait for the interval,
      // unless a full batch is already waiting.
      if (self->state.inbox && self->state.inbox->size() >= group_commit_size)
        take_inbox(self);
      if (self->state.pending.empty())
        arm_tick(self);
      else
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
      write_pending(self, [self, rp](bool ok) mutable {
        if (!ok) {
          rp.deliver(false);
          return;
        }
        // Batches that left before this one may still be on their way.
        self->state.drained.emplace_back(
          [rp](bool all) mutable { rp.deliver(all); });
        check_drained(self);
      });
      return rp;
    },
  };
}

} // namespace gatehouse::actors
