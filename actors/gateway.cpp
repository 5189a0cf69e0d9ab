#include "actors/gateway.hpp"

#include <chrono>
#include <ctime>
#include <optional>

#include "actors/auth_limiter.hpp"
#include "actors/directory.hpp"
#include "actors/fwd.hpp"
#include "actors/org_actor.hpp"
#include "actors/storage_worker.hpp"
#include "storage/database.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

/// The `sharing` scheduler with a fixed worker count: the default
/// work-stealing policy lets idle workers sleep and adds milliseconds to
/// messages sent from I/O threads.
struct system_config : caf::actor_system_config {
  explicit system_config(int threads) {
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", static_cast<size_t>(threads));
  }
};

constexpr auto call_timeout = std::chrono::seconds(30);

} // namespace

struct gateway::impl {
  system_config cfg;
  caf::actor_system sys;
  storage::connection_pool& pool;
  std::shared_ptr<directory> dir = std::make_shared<directory>();
  caf::actor db;
  auth_limiter_actor limiter;

  impl(int threads, storage::connection_pool& p)
    : cfg(threads), sys(cfg), pool(p) {
    db = spawn_storage_workers(sys, pool, 2);
    limiter = sys.spawn(auth_limiter_impl);
    auto lease = pool.acquire();
    storage::store st{*lease};
    for (auto& entry : st.load_key_index(std::time(nullptr)))
      dir->add_key(entry.key_hash, entry.org_id);
  }

  /// The org's actor, spawned from storage on first use.
  std::optional<org_actor> org(const std::string& org_id) {
    auto hdl = dir->get_or_spawn(org_id, [&]() -> org_actor {
      auto lease = pool.acquire();
      storage::store st{*lease};
      auto rec = st.find_org(org_id);
      if (!rec)
        return {};
      org_snapshot snap{std::move(*rec), st.load_org_keys(org_id)};
      return sys.spawn(org_actor_impl, std::move(snap), dir, db);
    });
    if (!hdl)
      return std::nullopt;
    return hdl;
  }

  /// Sends a request and waits for its answer.
  template <class T, class Handle, class... Ts>
  policy::outcome<T> call(const Handle& hdl, Ts&&... xs) {
    caf::scoped_actor self{sys};
    std::optional<policy::outcome<T>> out;
    self->request(hdl, call_timeout, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out.emplace(std::move(x)); },
               [&](caf::error& e) { out.emplace(to_problem(e)); });
    return std::move(*out);
  }

  template <class T, class... Ts>
  policy::outcome<T> call_org(const std::string& org_id, Ts&&... xs) {
    auto hdl = org(org_id);
    if (!hdl)
      return policy::make_problem(policy::errc::not_found,
                                  "no organization with id '" + org_id + "'");
    return call<T>(*hdl, std::forward<Ts>(xs)...);
  }
};

gateway::gateway(int threads, storage::connection_pool& pool)
  : impl_(std::make_unique<impl>(threads, pool)) {
}

gateway::~gateway() {
  shutdown();
}

policy::outcome<storage::api_key_record>
gateway::create_key(const std::string& org_id, storage::api_key_record rec,
                    const audit_ctx& who) {
  return impl_->call_org<storage::api_key_record>(org_id, create_key_atom_v,
                                                  std::move(rec), who);
}

policy::outcome<storage::api_key_record>
gateway::revoke_key(const std::string& org_id, const std::string& key_id,
                    const audit_ctx& who) {
  return impl_->call_org<storage::api_key_record>(org_id, revoke_key_atom_v,
                                                  key_id, who);
}

policy::outcome<storage::api_key_record>
gateway::rotate_key(const std::string& org_id, const std::string& key_id,
                    const std::string& new_hash, const std::string& new_prefix,
                    int overlap_hours, const audit_ctx& who) {
  return impl_->call_org<storage::api_key_record>(
    org_id, rotate_key_atom_v, key_id, new_hash, new_prefix,
    static_cast<int32_t>(overlap_hours), who);
}

policy::outcome<storage::org_record>
gateway::set_plan(const std::string& org_id, const std::string& plan,
                  const audit_ctx& who) {
  return impl_->call_org<storage::org_record>(org_id, set_plan_atom_v, plan,
                                              who);
}

policy::outcome<storage::org_record>
gateway::update_org(const std::string& org_id, const org_update& change,
                    const audit_ctx& who) {
  return impl_->call_org<storage::org_record>(org_id, update_org_atom_v,
                                              change, who);
}

void gateway::key_created(const std::string& key_hash,
                          const std::string& org_id) {
  impl_->dir->add_key(key_hash, org_id);
}

key_verdict gateway::check_key(const std::string& key_hash, long long now_s) {
  key_verdict denied;
  denied.reason = "unknown API key";
  auto org_id = impl_->dir->org_of_key(key_hash);
  if (!org_id)
    return denied;
  auto v = impl_->call_org<key_verdict>(*org_id, authkey_atom_v, key_hash,
                                        static_cast<int64_t>(now_s));
  return v ? std::move(v.value()) : denied;
}

limit_decision gateway::hit_auth_limit(const std::string& client_ip,
                                       long long now_ms) {
  auto d = impl_->call<limit_decision>(impl_->limiter, auth_hit_atom_v,
                                       client_ip, static_cast<int64_t>(now_ms));
  // Fail closed: a limiter that cannot answer refuses the attempt.
  return d ? d.value() : limit_decision{false, 60};
}

void gateway::shutdown() {
  if (!impl_)
    return;
  for (auto& hdl : impl_->dir->all_orgs())
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->limiter, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->db, caf::exit_reason::user_shutdown);
  impl_.reset();
}

} // namespace gatehouse::actors
