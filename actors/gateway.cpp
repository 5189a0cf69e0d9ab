#include "actors/gateway.hpp"

#include <chrono>
#include <ctime>
#include <optional>

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <spdlog/spdlog.h>

#include "actors/auth_limiter.hpp"
#include "actors/cluster_actor.hpp"
#include "actors/cluster_routes.hpp"
#include "actors/directory.hpp"
#include "actors/fwd.hpp"
#include "actors/org_actor.hpp"
#include "actors/org_watch.hpp"
#include "actors/storage_worker.hpp"
#include "actors/storage_writer.hpp"
#include "actors/stream_pool.hpp"
#include "actors/stream_actor.hpp"
#include "storage/secrets.hpp"
#include "actors/retention.hpp"
#include "policy/budget.hpp"
#include "storage/database.hpp"
#include "storage/notifications.hpp"
#include "storage/pool.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

/// The `sharing` scheduler with a fixed worker count: the default
/// work-stealing policy lets idle workers sleep and adds milliseconds to
/// messages sent from I/O threads.
struct system_config : caf::actor_system_config {
  system_config(int threads, bool clustered) {
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", static_cast<size_t>(threads));
    register_message_types(*this);
    // The middleman runs a network thread and a broker: a single node
    // loads none of it.
    if (clustered)
      load<caf::io::middleman>();
  }
};

constexpr auto call_timeout = std::chrono::seconds(30);

/// A single node's name in its one-member cluster view: the host name.
std::string node_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0')
    return "gatehouse";
  return buf;
}

/// Stream actors kept for reuse once their streams ended.
constexpr std::size_t max_idle_streams = 4096;

} // namespace

struct gateway::impl {
  system_config cfg;
  caf::actor_system sys;
  storage::connection_pool& pool;
  std::shared_ptr<directory> dir = std::make_shared<directory>();
  std::shared_ptr<const storage::secrets> secrets;
  caf::actor db;
  caf::actor log_worker; ///< the storage writer's own connection
  storage_writer_actor writer;
  auth_limiter_actor limiter;
  caf::actor sweeper;
  caf::actor watch;
  /// Announces changes committed by other writers (PostgreSQL only).
  std::shared_ptr<storage::change_listener> listener;
  std::shared_ptr<log_inbox> inbox =
    std::make_shared<log_inbox>(group_commit_size);
  std::shared_ptr<metrics_registry> metrics =
    std::make_shared<metrics_registry>();
  std::shared_ptr<stream_actor_pool> streams;
  std::shared_ptr<cluster_view> cluster;
  std::shared_ptr<cluster_routes> routes;
  caf::actor membership;
  /// Webhook deliveries; the thread starts with start_webhooks.
  std::shared_ptr<webhook_worker> webhooks;

  impl(int threads, storage::connection_pool& p, const storage::secrets& s,
       std::size_t limiter_entries, int idle_timeout_s, int log_cache_mib,
       cluster_options copts)
    : cfg(threads, !copts.listen_host.empty()),
      sys(cfg),
      pool(p),
      secrets(std::make_shared<const storage::secrets>(s)) {
    if (copts.node_id.empty())
      copts.node_id = node_name();
    if (!copts.listen_host.empty()) {
      auto host = copts.listen_host.find(':') != std::string::npos
                    ? "[" + copts.listen_host + "]"
                    : copts.listen_host;
      cluster = std::make_shared<cluster_view>(
        copts.node_id, host + ":" + std::to_string(copts.listen_port), true);
      routes = std::make_shared<cluster_routes>();
      routes->set_self(sys.node());
      routes->set_lease_slice(copts.lease_slice);
      membership = spawn_membership(sys, std::move(copts), cluster, routes);
    } else {
      cluster = std::make_shared<cluster_view>(copts.node_id, "", false);
    }
    webhooks = std::make_shared<webhook_worker>(pool, secrets);
    db = spawn_storage_workers(sys, pool, 2);
    log_worker = spawn_log_worker(sys, pool, log_cache_mib);
    metrics->count_inbox_with([in = inbox] { return in->pushed(); });
    metrics->describe_node_with(
      [view = cluster, r = routes](policy::metrics_text& out) {
        describe_cluster(*view, out);
        if (r)
          r->describe(out);
      });
    writer = sys.spawn(storage_writer_impl, log_worker, inbox, metrics);
    limiter = sys.spawn(auth_limiter_impl, limiter_entries);
    sweeper = sys.spawn<caf::detached>(retention_sweeper, &pool);
    streams = std::make_shared<stream_actor_pool>(sys, max_idle_streams);
    auto lease = pool.acquire();
    storage::store st{*lease};
    // Changes logged before now are in what org actors load.
    org_watch_config wc;
    wc.idle_timeout = std::chrono::seconds{idle_timeout_s};
    wc.start_after = st.last_org_change();
    load_keys(*dir, pool, std::time(nullptr));
    if (lease->dialect() == "postgresql") {
      listener = std::make_shared<storage::change_listener>(pool.url());
      wc.listening = [l = std::weak_ptr(listener)] {
        auto up = l.lock();
        return up && up->listening();
      };
    }
    watch = sys.spawn(org_watch, dir, db, std::move(wc));
    if (routes)
      route_leases();
    if (listener)
      listener->start(
        [w = watch] { caf::anon_send(w, refresh_atom_v); },
        [](const std::string& why) {
          spdlog::warn("listening for changes of organizations: {}; "
                       "reading the change log every second until back",
                       why);
        });
  }

  /// Delivers the lease messages of other members to this node's org
  /// actors, and tells every live org actor when the members change (its
  /// home may have moved).
  void route_leases() {
    routes->set_routers(
      [this](lease_ask ask, caf::actor reply_to) {
        if (auto hdl = dir->find_org(ask.org_id)) {
          caf::anon_send(hdl, lease_ask_atom_v, std::move(ask),
                         std::move(reply_to));
          return;
        }
        // The home's org actor starts from storage: not on this thread.
        sys.spawn<caf::detached>(
          [this, ask, reply_to](caf::event_based_actor* worker) {
            if (auto h = org(ask.org_id, std::time(nullptr))) {
              caf::anon_send(h.hdl, lease_ask_atom_v, ask, reply_to);
              h.release();
            }
            worker->quit();
          });
      },
      [this](const std::string& org_id, const std::string& month,
             const std::string& home, caf::actor reply_to) {
        if (auto hdl = dir->find_org(org_id)) {
          caf::anon_send(hdl, lease_collect_atom_v, month, home,
                         std::move(reply_to));
          return;
        }
        // No actor, so nothing in flight and no lease here.
        routes->count(lease_msg::collected);
        caf::anon_send(caf::actor_cast<org_actor>(reply_to),
                       lease_collected_atom_v,
                       lease_collected{month, cluster->self_id(), {}, {}});
      });
    cluster->subscribe([d = dir](const std::vector<cluster_member>&) {
      for (auto& hdl : d->all_orgs())
        caf::anon_send(hdl, rehome_atom_v);
    });
  }

  /// A hold on the org's actor, spawned from storage when it has none
  /// (first use, or passivated); empty for an unknown org. The caller
  /// releases it.
  org_hold org(const std::string& org_id, long long now_s) {
    return dir->hold_or_spawn(org_id, now_s, [&]() -> org_actor {
      auto lease = pool.acquire();
      storage::store st{*lease};
      auto rec = st.find_org(org_id);
      if (!rec)
        return {};
      auto month = policy::month_of(std::time(nullptr));
      org_snapshot snap{std::move(*rec),
                        st.load_org_keys(org_id),
                        st.list_providers(org_id),
                        st.list_price_overrides(org_id),
                        st.list_teams(org_id),
                        st.list_apps(org_id),
                        st.load_month_usage(org_id, month),
                        month,
                        st.org_has_webhooks(org_id)};
      metrics->org_actor_started();
      return sys.spawn(org_actor_impl, std::move(snap),
                       org_links{dir, db, writer, secrets, metrics,
                                 routes ? cluster : nullptr, routes,
                                 webhooks});
    });
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
    auto h = org(org_id, std::time(nullptr));
    if (!h)
      return policy::make_problem(policy::errc::not_found,
                                  "no organization with id '" + org_id + "'");
    auto out = call<T>(h.hdl, std::forward<Ts>(xs)...);
    h.release();
    return out;
  }
};

gateway::gateway(int threads, storage::connection_pool& pool,
                 const storage::secrets& secrets,
                 std::size_t auth_limiter_entries, int org_idle_timeout_s,
                 int log_cache_mib, cluster_options cluster)
  : impl_(std::make_unique<impl>(threads, pool, secrets, auth_limiter_entries,
                                 org_idle_timeout_s, log_cache_mib,
                                 std::move(cluster))) {
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

bool gateway::key_known(const std::string& key_hash) const {
  return impl_->dir->org_of_key(key_hash).has_value();
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

namespace {

authorization unknown_key() {
  authorization out;
  out.denial = policy::make_problem(policy::errc::unauthorized,
                                    "unknown API key");
  return out;
}

/// The stream relay backed by a stream actor from the pool.
class actor_stream_relay : public stream_relay {
public:
  explicit actor_stream_relay(std::shared_ptr<stream_actor_pool> pool)
    : pool_(std::move(pool)), hdl_(pool_->take()) {
  }

  ~actor_stream_relay() override {
    // An exchange that ended without finishing: reset the actor all the
    // same (nobody waits for its summary).
    if (!finished_)
      caf::anon_send(hdl_, end_atom_v, std::vector<policy::sse_event>{},
                     end_reply{});
    pool_->give_back(std::move(hdl_));
  }

  void account(std::vector<policy::sse_event> events) override {
    caf::anon_send(hdl_, chunk_atom_v, std::move(events));
  }

  void finish(std::vector<policy::sse_event> last,
              std::function<void(stream_summary)> done) override {
    finished_ = true;
    caf::anon_send(hdl_, end_atom_v, std::move(last),
                   end_reply{std::move(done)});
  }

private:
  std::shared_ptr<stream_actor_pool> pool_;
  stream_actor hdl_;
  bool finished_ = false;
};

} // namespace

namespace {

/// Passes an authorization on; a refusal gives the request's hold on its
/// org back at once, a grant keeps it until the exchange settles.
auth_reply holding(std::atomic<std::uint64_t>* released,
                   std::function<void(authorization)> done) {
  return auth_reply{[released, done = std::move(done)](authorization a) {
    if (!a.ok)
      released->fetch_add(1, std::memory_order_acq_rel);
    done(std::move(a));
  }};
}

} // namespace

void gateway::authorize(proxy_request req,
                        std::function<void(authorization)> done) {
  auto org_id = impl_->dir->org_of_key(req.key_hash);
  if (!org_id)
    return done(unknown_key());
  // The fast path: decide from the view the org actor published, on this
  // thread. Budgets and rate limits are atomic ledgers shared with the
  // actor; only a new month needs the actor itself. The hold keeps the
  // actor from passivating until the request settles.
  auto h = impl_->dir->hold(*org_id, req.now_s);
  if (h && h.view && h.view->month == policy::month_of(req.now_s)) {
    auto a = actors::authorize(*h.view, req);
    if (a.deferred) {
      // A member's lease is spent (or the home calls leases back): the
      // org actor finds the budget or refuses.
      caf::anon_send(h.hdl, lease_miss_atom_v, std::move(req),
                     holding(h.released, std::move(done)));
      return;
    }
    if (a.ok && a.permit.ledger && a.permit.ledger->wants_refill())
      caf::anon_send(h.hdl, lease_low_atom_v, *a.permit.team_id,
                     static_cast<int64_t>(a.permit.reserved_micros));
    if (!a.ok) {
      impl_->metrics->record_denial(*org_id, a.denial.code);
      h.release();
    }
    return done(std::move(a));
  }
  if (h) {
    caf::anon_send(h.hdl, authorize_atom_v, std::move(req),
                   holding(h.released, std::move(done)));
    return;
  }
  // First request for this org on this node, or the first since it
  // passivated: its state comes from storage, which must not block the
  // caller's thread.
  auto* self = impl_.get();
  impl_->sys.spawn<caf::detached>(
    [self, id = *org_id, req, done](caf::event_based_actor* worker) {
      auto h = self->org(id, req.now_s);
      if (!h)
        done(unknown_key());
      else
        caf::anon_send(h.hdl, authorize_atom_v, req,
                       holding(h.released, done));
      worker->quit();
    });
}

void gateway::key_targets(std::string key_hash, long long now_s,
                          std::function<void(authorization)> done) {
  auto org_id = impl_->dir->org_of_key(key_hash);
  if (!org_id)
    return done(unknown_key());
  auto* self = impl_.get();
  // The hold is given back once the answer is out: a listing reserves
  // nothing.
  auto send = [now_s, key_hash, done](org_hold h) {
    auto* released = h.released;
    caf::anon_send(h.hdl, targets_atom_v, key_hash,
                   static_cast<int64_t>(now_s),
                   auth_reply{[released, done](authorization a) {
                     released->fetch_add(1, std::memory_order_acq_rel);
                     done(std::move(a));
                   }});
  };
  if (auto h = impl_->dir->hold(*org_id, now_s))
    return send(h);
  impl_->sys.spawn<caf::detached>(
    [self, id = *org_id, now_s, send, done](caf::event_based_actor* worker) {
      if (auto h = self->org(id, now_s))
        send(h);
      else
        done(unknown_key());
      worker->quit();
    });
}

void gateway::settle(settlement done) {
  // Priced from the published view and counted in the shared ledger on
  // this thread; only the log entry travels, straight to the writer. The
  // grant's hold is given back after the entry is queued, so that the org
  // cannot passivate before the writer has it.
  auto h = impl_->dir->held(done.log.org_id);
  if (h.view) {
    auto entry = settle_exchange(*h.view, std::move(done),
                                 impl_->metrics.get());
    if (impl_->inbox->push(std::move(entry)))
      caf::anon_send(impl_->writer, log_atom_v);
  } else if (h.hdl) {
    caf::anon_send(h.hdl, settle_atom_v, std::move(done));
  }
  h.release();
}

std::shared_ptr<stream_relay> gateway::open_stream() {
  return std::make_shared<actor_stream_relay>(impl_->streams);
}

policy::outcome<storage::provider_record>
gateway::put_provider(const std::string& org_id, storage::provider_record rec,
                      bool is_new, const audit_ctx& who) {
  return impl_->call_org<storage::provider_record>(
    org_id, put_provider_atom_v, std::move(rec), is_new, who);
}

policy::outcome<storage::provider_record>
gateway::delete_provider(const std::string& org_id, const std::string& name,
                         const audit_ctx& who) {
  return impl_->call_org<storage::provider_record>(org_id, del_provider_atom_v,
                                                   name, who);
}

policy::outcome<std::string>
gateway::set_default_provider(const std::string& org_id,
                              const std::string& name, const audit_ctx& who) {
  return impl_->call_org<std::string>(org_id, default_provider_atom_v, name,
                                      who);
}

policy::outcome<bool>
gateway::set_pricing(const std::string& org_id,
                     std::vector<storage::price_override> prices,
                     const audit_ctx& who) {
  return impl_->call_org<bool>(org_id, set_pricing_atom_v, std::move(prices),
                               who);
}

policy::outcome<storage::team_record>
gateway::put_team(const std::string& org_id, storage::team_record rec,
                  bool is_new, const audit_ctx& who) {
  return impl_->call_org<storage::team_record>(org_id, put_team_atom_v,
                                               std::move(rec), is_new, who);
}

policy::outcome<bool> gateway::delete_team(const std::string& org_id,
                                           const std::string& team_id,
                                           const audit_ctx& who) {
  return impl_->call_org<bool>(org_id, del_team_atom_v, team_id, who);
}

policy::outcome<std::vector<team_usage>>
gateway::team_usages(const std::string& org_id, long long now_s) {
  return impl_->call_org<std::vector<team_usage>>(
    org_id, team_usage_atom_v, static_cast<int64_t>(now_s));
}

policy::outcome<storage::app_record>
gateway::put_app(const std::string& org_id, storage::app_record rec,
                 bool is_new, const audit_ctx& who) {
  return impl_->call_org<storage::app_record>(org_id, put_app_atom_v,
                                              std::move(rec), is_new, who);
}

policy::outcome<bool> gateway::delete_app(const std::string& org_id,
                                          const std::string& app_id,
                                          const audit_ctx& who) {
  return impl_->call_org<bool>(org_id, del_app_atom_v, app_id, who);
}

policy::outcome<bool> gateway::remove_member(const std::string& org_id,
                                             const std::string& user_id,
                                             const audit_ctx& who) {
  return impl_->call_org<bool>(org_id, drop_member_atom_v, user_id, who);
}

long long gateway::sweep_logs(long long now_s) {
  auto lease = impl_->pool.acquire();
  return sweep_expired_logs(storage::store{*lease}, now_s);
}

metrics_registry& gateway::metrics() {
  return *impl_->metrics;
}

std::size_t gateway::live_orgs() const {
  return impl_->dir->live_orgs();
}

void gateway::flush() {
  impl_->call<bool>(impl_->writer, flush_atom_v);
}

const cluster_view& gateway::cluster() const {
  return *impl_->cluster;
}

void gateway::leave_cluster() {
  if (impl_)
    announce_leaving(impl_->membership);
}

void gateway::start_webhooks(webhook_poster post, webhook_options opts) {
  if (opts.node_id.empty())
    opts.node_id = impl_->cluster->self_id();
  impl_->webhooks->start(std::move(post), std::move(opts));
}

webhook_worker& gateway::webhooks() {
  return *impl_->webhooks;
}

void gateway::shutdown() {
  if (!impl_)
    return;
  // Events raised until now are queued before the actors stop.
  impl_->webhooks->stop();
  if (impl_->membership)
    caf::anon_send_exit(impl_->membership, caf::exit_reason::user_shutdown);
  if (impl_->routes)
    impl_->routes->set_routers({}, {});
  flush();
  impl_->streams->close();
  caf::anon_send_exit(impl_->writer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->log_worker, caf::exit_reason::user_shutdown);
  for (auto& hdl : impl_->dir->all_orgs())
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->limiter, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->sweeper, caf::exit_reason::user_shutdown);
  impl_->listener.reset();
  caf::anon_send_exit(impl_->watch, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(impl_->db, caf::exit_reason::user_shutdown);
  impl_.reset();
}

} // namespace gatehouse::actors
