#include "app/commands.hpp"
#include "app/descriptors.hpp"

#include <chrono>
#include <cstddef>
#include <iostream>
#include <optional>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>

#include <spdlog/spdlog.h>

#include "actors/gateway.hpp"
#include "http/dispatcher.hpp"
#include "http/proxy.hpp"
#include "http/runtime.hpp"
#include "http/server.hpp"
#include "http/services.hpp"
#include "http/webhook_client.hpp"
#include "http/worker_pool.hpp"
#include "policy/cluster_auth.hpp"
#include "policy/ids.hpp"
#include "policy/plan.hpp"
#include "policy/time.hpp"
#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/pool.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

// jemalloc's control interface, when the binary is linked with it.
extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp,
                       void* newp, std::size_t newlen) __attribute__((weak));

// jemalloc's settings, read when it starts (MALLOC_CONF still overrides
// them): a background thread gives freed memory back to the system after
// the decay time even when nothing allocates any more. Without it, an arena
// purges only when its threads allocate, so a node that went idle (org
// actors passivated, caches freed) kept its peak RSS.
extern "C" const char* malloc_conf;
const char* malloc_conf = "background_thread:true,max_background_threads:1";

namespace gatehouse::app {

namespace {

long long now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

/// Opens the database and applies pending migrations.
void prepare_database(storage::connection_pool& pool) {
  auto lease = pool.acquire();
  auto applied = storage::migrate(*lease);
  spdlog::info("database ready: schema version {} ({} migrations applied)",
               storage::schema_version(*lease), applied);
}

/// Gives the memory the allocator holds free back to the system: start-up
/// reads the whole key index once and frees most of it.
void release_free_memory() {
  if (mallctl) {
    // jemalloc: purge every arena (4096 is MALLCTL_ARENAS_ALL).
    mallctl("arena.4096.purge", nullptr, nullptr, nullptr, 0);
    return;
  }
  ::malloc_trim(0);
}

/// Watches SIGTERM and SIGINT beside the server (which drains on them) and
/// tells the cluster this node is leaving. Asio hands each signal to every
/// signal set that waits for it.
class leave_on_signal {
public:
  explicit leave_on_signal(actors::gateway& gw) {
    signals_.async_wait([this, &gw](const boost::system::error_code& ec,
                                    int) {
      if (!ec)
        gw.leave_cluster();
    });
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~leave_on_signal() {
    ioc_.stop();
    thread_.join();
  }

  leave_on_signal(const leave_on_signal&) = delete;
  leave_on_signal& operator=(const leave_on_signal&) = delete;

private:
  boost::asio::io_context ioc_;
  boost::asio::signal_set signals_{ioc_, SIGINT, SIGTERM};
  std::thread thread_;
};

std::string url_host(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

} // namespace

int run_migrate(const config::settings& cfg) {
  storage::connection_pool pool{cfg.database_url, 1};
  auto lease = pool.acquire();
  auto applied = storage::migrate(*lease);
  std::cout << "migrations applied: " << applied
            << ", schema version: " << storage::schema_version(*lease) << '\n';
  return 0;
}

int run_set_plan(const config::settings& cfg,
                 const std::vector<std::string>& args) {
  const auto& slug = args.at(0);
  const auto& plan = args.at(1);
  storage::connection_pool pool{cfg.database_url, 1};
  prepare_database(pool);
  auto lease = pool.acquire();
  storage::store db{*lease};
  auto org = db.find_org_by_slug(slug);
  if (!org) {
    std::cerr << "gatehouse: no organization with slug '" << slug << "'\n";
    return 1;
  }
  storage::audit_record audit;
  audit.id = policy::uuid_v4();
  audit.org_id = org->id;
  audit.actor_type = "operator";
  audit.actor_id = "cli";
  audit.action = "org.plan";
  audit.target_type = "org";
  audit.target_id = org->id;
  // Both plans are validated names: no escaping needed.
  audit.before_json = R"({"plan":")" + org->plan + R"("})";
  audit.after_json = R"({"plan":")" + plan + R"("})";
  audit.created_at = policy::rfc3339_ms(now_ms());
  db.set_org_plan(org->id, plan, audit);
  std::cout << "organization '" << slug << "' is now on the " << plan
            << " plan\n";
  return 0;
}

/// The cluster side of the settings.
actors::cluster_options cluster_options_of(const config::settings& cfg,
                                           const storage::secrets& secrets) {
  actors::cluster_options o;
  o.node_id = cfg.node_id;
  o.listen_host = cfg.cluster_listen_host;
  o.listen_port = cfg.cluster_listen_port;
  o.peers = cfg.cluster_peers;
  o.lease_slice = cfg.cluster_lease_slice;
  o.secret = cfg.cluster_secret;
  o.master_key_fingerprint = policy::secret_fingerprint(cfg.cluster_secret,
                                                        secrets.master_key);
  o.jwt_secret_fingerprint = policy::secret_fingerprint(cfg.cluster_secret,
                                                        secrets.jwt_secret);
  return o;
}

http::server_limits server_limits_of(const config::settings& cfg) {
  http::server_limits l;
  l.header_bytes = static_cast<std::size_t>(cfg.max_header_bytes);
  l.proxy_body_bytes = static_cast<std::size_t>(cfg.max_body_bytes);
  l.manage_body_bytes = static_cast<std::size_t>(cfg.max_manage_body_bytes);
  l.max_connections = static_cast<std::size_t>(cfg.max_connections);
  l.drain_grace = std::chrono::seconds{cfg.drain_grace_s};
  return l;
}

int run_serve(const config::settings& cfg) {
  prepare_descriptors(static_cast<std::size_t>(cfg.max_connections));
  storage::connection_pool pool{cfg.database_url,
                                static_cast<size_t>(cfg.threads * 2 + 4)};
  prepare_database(pool);
  auto secrets = storage::load_or_create_secrets(cfg.data_dir,
                                                 cfg.master_key_hex,
                                                 cfg.jwt_secret);
  actors::gateway gw{cfg.threads,
                     pool,
                     secrets,
                     static_cast<std::size_t>(cfg.auth_limiter_entries),
                     cfg.org_idle_timeout_s,
                     cfg.log_cache_mib,
                     cluster_options_of(cfg, secrets)};
  // A member announces its graceful stop as the drain begins.
  std::optional<leave_on_signal> leaver;
  if (cfg.cluster_mode())
    leaver.emplace(gw);
  release_free_memory();
  http::worker_pool workers{std::max(4, cfg.threads * 2),
                            static_cast<std::size_t>(cfg.max_queued_requests)};
  http::services svc{
    cfg, secrets, gw,
    policy::parse_cidr_list(cfg.trusted_proxies).value_or(
      std::vector<policy::cidr>{}),
    now_ms};
  gw.start_webhooks(
    http::make_webhook_poster(
      policy::parse_private_allowance(cfg.allow_private_upstreams)
        .value_or(policy::private_allowance{}),
      std::chrono::seconds{10}),
    actors::webhook_options{cfg.webhook_retry_base_ms, cfg.node_id});
  http::runtime rt{cfg.threads};
  http::proxy data_plane{svc, rt};
  http::dispatcher dispatcher{svc, pool, workers, data_plane};
  http::server srv{
    rt, cfg.listen_host, cfg.listen_port, server_limits_of(cfg),
    [&](http::http_request req, std::shared_ptr<http::client_channel> client) {
      dispatcher.dispatch(std::move(req), std::move(client));
    },
    [&](std::string_view path, std::optional<std::string_view> key) {
      return data_plane.check_early(path, key);
    }};
  spdlog::info("serving on {}:{} with {} threads", cfg.listen_host,
               srv.port(), cfg.threads);
  std::cout << "gatehouse listening on http://" << url_host(cfg.listen_host)
            << ':' << srv.port() << std::endl;
  srv.run();
  workers.stop();
  gw.shutdown();
  spdlog::info("stopped");
  return 0;
}

} // namespace gatehouse::app
