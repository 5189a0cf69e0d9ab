#include "actors/org_watch.hpp"

#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "actors/directory.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = caf::stateful_actor<org_watch_state>*;

/// Rows read from the change log at most per read.
constexpr int max_changes_per_read = 1000;

/// How often old changes are deleted.
constexpr std::int64_t prune_every_ms = 600'000;

/// Tells the idle live orgs to passivate.
void sweep(state_ptr self, std::int64_t now_ms) {
  auto& st = self->state;
  auto before_s = now_ms / 1000 - st.cfg.idle_timeout.count();
  for (auto& idle : st.dir->idle_orgs(before_s))
    self->send(idle.hdl, passivate_atom_v, idle.uses, now_ms);
}

/// What a read of the change log found.
struct found_changes {
  std::vector<storage::org_change> changes;
  /// The keys of each org concerned, for the directory.
  std::vector<std::pair<std::string, std::vector<storage::api_key_record>>>
    keys;
};

/// Makes the directory's hashes of an org's keys what storage holds: keys
/// created or rotated on another node become known, revoked ones are
/// forgotten (the org actor's view decides the rest: expiry, overlap).
void sync_keys(directory& dir, const std::string& org_id,
               const std::vector<storage::api_key_record>& keys) {
  for (auto& k : keys) {
    if (k.status == "revoked") {
      dir.remove_key(k.key_hash);
      if (k.previous_key_hash)
        dir.remove_key(*k.previous_key_hash);
      continue;
    }
    dir.add_key(k.key_hash, org_id);
    if (k.previous_key_hash)
      dir.add_key(*k.previous_key_hash, org_id);
  }
}

/// Reads the change log and tells the live actors of changed orgs.
void read_changes(state_ptr self, std::int64_t now_ms) {
  auto& st = self->state;
  if (st.reading) {
    st.again = true;
    return;
  }
  st.reading = true;
  st.again = false;
  st.ticks_since_read = 0;
  auto found = std::make_shared<found_changes>();
  auto after = st.cursor;
  std::optional<std::string> prune_before;
  if (now_ms >= st.next_prune_ms) {
    st.next_prune_ms = now_ms + prune_every_ms;
    prune_before = policy::rfc3339_ms(
      now_ms - std::chrono::milliseconds(st.cfg.change_retention).count());
  }
  self
    ->request(
      st.db, caf::infinite,
      db_job{[found, after, prune_before](storage::store& s) {
        if (prune_before)
          s.prune_org_changes(*prune_before);
        found->changes = s.org_changes_after(after, max_changes_per_read);
        std::set<std::string> orgs;
        for (auto& c : found->changes)
          if (orgs.insert(c.org_id).second)
            found->keys.emplace_back(c.org_id, s.load_org_keys(c.org_id));
      }})
    .then(
      [self, found](bool) {
        auto& st = self->state;
        st.reading = false;
        for (auto& [org_id, keys] : found->keys)
          sync_keys(*st.dir, org_id, keys);
        for (auto& c : found->changes)
          st.cursor = std::max(st.cursor, c.seq);
        for (auto& [org_id, keys] : found->keys)
          if (auto hdl = st.dir->find_org(org_id))
            self->send(hdl, refresh_atom_v);
        // More than one read's worth, or announced meanwhile: read again.
        if (st.again
            || found->changes.size()
                 == static_cast<std::size_t>(max_changes_per_read))
          read_changes(self, st.cfg.now_ms());
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.reading = false;
        spdlog::warn("reading the change log of organizations failed: {}",
                     caf::to_string(err));
      });
}

} // namespace

std::chrono::seconds sweep_interval(std::chrono::seconds idle_timeout) {
  return std::clamp(idle_timeout / 4, std::chrono::seconds{1},
                    std::chrono::seconds{30});
}

caf::behavior org_watch(caf::stateful_actor<org_watch_state>* self,
                        std::shared_ptr<directory> dir, caf::actor db,
                        org_watch_config cfg) {
  auto& st = self->state;
  st.dir = std::move(dir);
  st.db = std::move(db);
  st.cursor = cfg.start_after;
  if (!cfg.now_ms)
    cfg.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
    };
  st.cfg = std::move(cfg);
  auto now = st.cfg.now_ms();
  st.next_sweep_ms
    = now
      + std::chrono::milliseconds(sweep_interval(st.cfg.idle_timeout)).count();
  st.next_prune_ms = now;
  self->delayed_send(self, st.cfg.change_interval, tick_atom_v);
  return {
    [=](tick_atom) {
      auto& st = self->state;
      auto now = st.cfg.now_ms();
      auto every = st.cfg.listening && st.cfg.listening()
                     ? st.cfg.fallback_interval
                     : st.cfg.change_interval;
      if (++st.ticks_since_read * st.cfg.change_interval >= every)
        read_changes(self, now);
      if (now >= st.next_sweep_ms) {
        st.next_sweep_ms
          = now
            + std::chrono::milliseconds(sweep_interval(st.cfg.idle_timeout))
                .count();
        sweep(self, now);
      }
      self->delayed_send(self, st.cfg.change_interval, tick_atom_v);
    },
    [=](refresh_atom) { read_changes(self, self->state.cfg.now_ms()); },
    [=](sweep_atom) { sweep(self, self->state.cfg.now_ms()); },
  };
}

} // namespace gatehouse::actors
