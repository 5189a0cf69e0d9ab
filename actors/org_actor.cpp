#include "actors/org_actor.hpp"

#include <nlohmann/json.hpp>

#include "actors/directory.hpp"
#include "actors/views.hpp"
#include "policy/ids.hpp"
#include "policy/key_validity.hpp"
#include "policy/plan.hpp"
#include "policy/time.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using state_ptr = org_actor::stateful_pointer<org_state>;
using policy::errc;

key_entry make_entry(storage::api_key_record rec) {
  key_entry e{std::move(rec), std::nullopt};
  if (e.rec.expires_at)
    e.expires_s = policy::parse_rfc3339(*e.rec.expires_at);
  return e;
}

void index_key(org_state& st, const storage::api_key_record& rec) {
  st.ids[rec.key_hash] = rec.id;
  if (rec.previous_key_hash)
    st.ids[*rec.previous_key_hash] = rec.id;
}

int active_keys(const org_state& st, long long now_s) {
  int n = 0;
  for (auto& [id, e] : st.keys)
    if (e.rec.status == "active" && !(e.expires_s && now_s >= *e.expires_s))
      ++n;
  return n;
}

storage::audit_record audit(const org_state& st, const audit_ctx& who,
                            std::string action, std::string target_type,
                            std::string target_id, nlohmann::json before,
                            nlohmann::json after) {
  storage::audit_record a;
  a.id = policy::uuid_v4();
  a.org_id = st.org.id;
  a.actor_type = who.actor_type;
  a.actor_id = who.actor_id;
  a.action = std::move(action);
  a.target_type = std::move(target_type);
  a.target_id = std::move(target_id);
  if (!before.is_null())
    a.before_json = before.dump();
  if (!after.is_null())
    a.after_json = after.dump();
  a.ip = who.ip;
  a.created_at = policy::rfc3339(who.now_s);
  return a;
}

key_verdict verdict_for(const org_state& st, const std::string& hash,
                        long long now_s) {
  key_verdict v;
  v.org_id = st.org.id;
  auto id = st.ids.find(hash);
  if (id == st.ids.end()) {
    v.reason = "unknown API key";
    return v;
  }
  auto& e = st.keys.at(id->second);
  auto check = policy::check_key(e.rec.status == "revoked", e.expires_s,
                                 hash != e.rec.key_hash,
                                 e.rec.previous_valid_until, now_s);
  switch (check) {
    case policy::key_check::revoked:
      v.reason = "API key has been revoked";
      return v;
    case policy::key_check::expired:
      v.reason = "API key has expired";
      return v;
    case policy::key_check::rotated_out:
      v.reason = "API key was rotated and its overlap period has ended";
      return v;
    case policy::key_check::valid:
      break;
  }
  v.valid = true;
  v.key_id = e.rec.id;
  v.scopes = e.rec.scopes;
  v.app_id = e.rec.app_id;
  v.team_id = e.rec.team_id;
  v.rate_limit_rpm = e.rec.rate_limit_rpm;
  return v;
}

/// Runs `job` on a storage worker and, once it committed, `done` inside the
/// actor; the actor handles no other message meanwhile, so the state it
/// validated against cannot change under it.
template <class T, class Done>
caf::typed_response_promise<T> write_then(state_ptr self, db_job job,
                                          Done done) {
  auto rp = self->template make_response_promise<T>();
  self->request(self->state.db, caf::infinite, std::move(job))
    .await([=](bool) mutable {
             ++self->state.version;
             rp.deliver(done());
           },
           [=](caf::error& err) mutable { rp.deliver(err); });
  return rp;
}

} // namespace

org_actor::behavior_type org_actor_impl(state_ptr self, org_snapshot snap,
                                        std::shared_ptr<directory> dir,
                                        caf::actor db) {
  auto& st = self->state;
  st.org = std::move(snap.org);
  st.dir = std::move(dir);
  st.db = std::move(db);
  for (auto& k : snap.keys) {
    index_key(st, k);
    auto id = k.id;
    st.keys.emplace(std::move(id), make_entry(std::move(k)));
  }
  self->delayed_send(self, org_refresh_interval, refresh_atom_v);
  return {
    [=](authkey_atom, const std::string& hash, int64_t now_s) {
      return verdict_for(self->state, hash, now_s);
    },
    [=](create_key_atom, storage::api_key_record rec, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto plan = policy::parse_plan(st.org.plan).value_or(policy::plan::free);
      auto max = policy::limits_for(plan, std::nullopt, false).max_api_keys;
      if (!policy::key_fits(active_keys(st, who.now_s), max))
        return to_error(policy::make_problem(
          errc::limit_exceeded, "the " + st.org.plan + " plan allows "
                                  + std::to_string(max) + " active API keys"));
      rec.org_id = st.org.id;
      auto entry = audit(st, who, "key.create", "api_key", rec.id, nullptr,
                         key_view(rec, who.now_s));
      return write_then<storage::api_key_record>(
        self, db_job{[rec, entry](storage::store& s) { s.insert_key(rec, entry); }},
        [self, rec] {
          auto& st = self->state;
          index_key(st, rec);
          st.keys[rec.id] = make_entry(rec);
          st.dir->add_key(rec.key_hash, st.org.id);
          return rec;
        });
    },
    [=](revoke_key_atom, const std::string& id, const audit_ctx& who)
      -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto i = st.keys.find(id);
      if (i == st.keys.end())
        return to_error(policy::make_problem(errc::not_found,
                                             "no API key with id '" + id + "'"));
      if (i->second.rec.status == "revoked")
        return i->second.rec;
      auto after = i->second.rec;
      after.status = "revoked";
      after.revoked_at = policy::rfc3339(who.now_s);
      auto entry = audit(st, who, "key.revoke", "api_key", id,
                         key_view(i->second.rec, who.now_s),
                         key_view(after, who.now_s));
      auto now = *after.revoked_at;
      return write_then<storage::api_key_record>(
        self,
        db_job{[after, entry, now](storage::store& s) {
          s.revoke_key(after.org_id, after.id, now, entry);
        }},
        [self, after] {
          auto& st = self->state;
          st.keys[after.id] = make_entry(after);
          // Revocation takes effect on the next request: the hashes leave
          // the directory too.
          st.dir->remove_key(after.key_hash);
          if (after.previous_key_hash)
            st.dir->remove_key(*after.previous_key_hash);
          return after;
        });
    },
    [=](rotate_key_atom, const std::string& id, const std::string& new_hash,
        const std::string& new_prefix, int32_t overlap_hours,
        const audit_ctx& who) -> caf::result<storage::api_key_record> {
      auto& st = self->state;
      auto i = st.keys.find(id);
      if (i == st.keys.end() || i->second.rec.status == "revoked")
        return to_error(policy::make_problem(errc::not_found,
                                             "no API key with id '" + id + "'"));
      auto before = i->second.rec;
      auto after = before;
      after.previous_key_hash = before.key_hash;
      after.previous_valid_until = who.now_s + overlap_hours * 3600LL;
      after.key_hash = new_hash;
      after.key_prefix = new_prefix;
      auto entry = audit(st, who, "key.rotate", "api_key", id,
                         key_view(before, who.now_s),
                         key_view(after, who.now_s));
      return write_then<storage::api_key_record>(
        self,
        db_job{[after, entry](storage::store& s) {
          s.rotate_key(after.org_id, after.id, after.key_hash,
                       after.key_prefix, *after.previous_valid_until, entry);
        }},
        [self, before, after] {
          auto& st = self->state;
          // A hash two rotations old is dropped for good.
          if (before.previous_key_hash) {
            st.ids.erase(*before.previous_key_hash);
            st.dir->remove_key(*before.previous_key_hash);
          }
          index_key(st, after);
          st.keys[after.id] = make_entry(after);
          st.dir->add_key(after.key_hash, st.org.id);
          return after;
        });
    },
    [=](set_plan_atom, const std::string& plan, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      auto& st = self->state;
      if (!policy::parse_plan(plan))
        return to_error(policy::make_problem(
          errc::invalid_request, "field 'plan': must be 'free' or 'enterprise'"));
      auto after = st.org;
      after.plan = plan;
      auto entry = audit(st, who, "org.plan", "org", st.org.id,
                         org_brief(st.org), org_brief(after));
      return write_then<storage::org_record>(
        self,
        db_job{[after, entry](storage::store& s) {
          s.set_org_plan(after.id, after.plan, entry);
        }},
        [self, after] {
          self->state.org = after;
          return after;
        });
    },
    [=](update_org_atom, const org_update& change, const audit_ctx& who)
      -> caf::result<storage::org_record> {
      auto& st = self->state;
      auto after = st.org;
      if (change.name)
        after.name = *change.name;
      if (change.settings_json)
        after.settings_json = *change.settings_json;
      auto entry = audit(st, who, "org.update", "org", st.org.id,
                         org_full(st.org), org_full(after));
      return write_then<storage::org_record>(
        self,
        db_job{[after, entry](storage::store& s) { s.update_org(after, entry); }},
        [self, after] {
          self->state.org = after;
          return after;
        });
    },
    [=](get_org_atom) { return self->state.org; },
    [=](refresh_atom) {
      auto fresh = std::make_shared<std::optional<storage::org_record>>();
      auto id = self->state.org.id;
      auto seen = self->state.version;
      self
        ->request(self->state.db, caf::infinite,
                  db_job{[fresh, id](storage::store& s) {
                    *fresh = s.find_org(id);
                  }})
        .then(
          [=](bool) {
            auto& st = self->state;
            if (*fresh && st.version == seen) {
              st.org.plan = (*fresh)->plan;
              st.org.name = (*fresh)->name;
              st.org.settings_json = (*fresh)->settings_json;
            }
            self->delayed_send(self, org_refresh_interval, refresh_atom_v);
          },
          [=](caf::error&) {
            self->delayed_send(self, org_refresh_interval, refresh_atom_v);
          });
    },
  };
}

} // namespace gatehouse::actors
