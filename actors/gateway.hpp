#pragma once

// The actor system as seen from the HTTP layer and main(): plain C++ calls,
// no CAF types, so HTTP translation units never parse CAF's headers.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/webhook_worker.hpp"
#include "policy/outcome.hpp"
#include "policy/sse.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {
class connection_pool;
struct secrets;
} // namespace gatehouse::storage

namespace gatehouse::actors {

/// The accounting side of one streamed answer, backed by its own stream
/// actor: the relay parses and forwards events on its I/O thread and hands
/// each batch of events over without waiting; the actor counts usage and
/// text and reports them when the stream ends. Calls may come from any
/// thread; the callback runs on an actor thread.
class stream_relay {
public:
  virtual ~stream_relay() = default;

  /// Hands relayed events over for counting (at most once per read).
  virtual void account(std::vector<policy::sse_event> events) = 0;

  /// Ends the stream with the events of its last read; `done` gets the
  /// usage and text seen.
  virtual void finish(std::vector<policy::sse_event> last,
                      std::function<void(stream_summary)> done) = 0;
};

/// Owns the actor system, the directory, the storage workers and the auth
/// limiter. The blocking calls below wait for an actor's answer; call them
/// from worker threads, never from an I/O thread.
class gateway {
public:
  /// Starts `threads` scheduler threads; loads the key index from storage.
  /// The sign-up/login limiter tracks at most `auth_limiter_entries`
  /// client addresses. An org actor that no request or call used for
  /// `org_idle_timeout_s` seconds passivates; it is spawned again from
  /// storage on its next use. The request-log writer's connection gets a
  /// page cache of `log_cache_mib` MiB (SQLite). The node is named
  /// `cluster.node_id` (default: the host name); with a
  /// `cluster.listen_host` it loads CAF's middleman, serves cluster traffic
  /// and joins its peers, without one it keeps no network thread of CAF's.
  gateway(int threads, storage::connection_pool& pool,
          const storage::secrets& secrets,
          std::size_t auth_limiter_entries = 100000,
          int org_idle_timeout_s = 300, int log_cache_mib = 16,
          cluster_options cluster = {});
  ~gateway();

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Creates a key in `org_id` if the plan's key limit allows it.
  policy::outcome<storage::api_key_record>
  create_key(const std::string& org_id, storage::api_key_record rec,
             const audit_ctx& who);

  /// Revokes a key; revoking a revoked key answers it unchanged.
  policy::outcome<storage::api_key_record>
  revoke_key(const std::string& org_id, const std::string& key_id,
             const audit_ctx& who);

  /// Gives a key a new hash; the old one works for `overlap_hours` more.
  policy::outcome<storage::api_key_record>
  rotate_key(const std::string& org_id, const std::string& key_id,
             const std::string& new_hash, const std::string& new_prefix,
             int overlap_hours, const audit_ctx& who);

  /// Sets the org's plan; effective for every following request.
  policy::outcome<storage::org_record>
  set_plan(const std::string& org_id, const std::string& plan,
           const audit_ctx& who);

  /// Changes the org's name and/or settings.
  policy::outcome<storage::org_record>
  update_org(const std::string& org_id, const org_update& change,
             const audit_ctx& who);

  /// Makes a key created outside an org actor (at signup) known.
  void key_created(const std::string& key_hash, const std::string& org_id);

  /// True if some org owns `key_hash` (a lock-free look-up; validity is
  /// decided later).
  bool key_known(const std::string& key_hash) const;

  /// Decides whether the raw key's hash is usable now.
  key_verdict check_key(const std::string& key_hash, long long now_s);

  /// Counts one `/signup` or `/login` attempt of `client_ip`.
  limit_decision hit_auth_limit(const std::string& client_ip,
                                long long now_ms);

  // -- data plane (never blocks; callbacks run on actor threads) ----------

  /// Authorizes a proxied request.
  void authorize(proxy_request req, std::function<void(authorization)> done);

  /// The providers (and scopes) a key may use.
  void key_targets(std::string key_hash, long long now_s,
                   std::function<void(authorization)> done);

  /// Reports a finished exchange (priced, counted and logged in the
  /// background).
  void settle(settlement done);

  /// The accounting of one SSE answer.
  std::shared_ptr<stream_relay> open_stream();

  // -- providers and pricing (blocking) -----------------------------------

  /// Creates (`is_new`) or replaces a provider.
  policy::outcome<storage::provider_record>
  put_provider(const std::string& org_id, storage::provider_record rec,
               bool is_new, const audit_ctx& who);

  /// Deletes a provider.
  policy::outcome<storage::provider_record>
  delete_provider(const std::string& org_id, const std::string& name,
                  const audit_ctx& who);

  /// Makes a provider the org's default.
  policy::outcome<std::string>
  set_default_provider(const std::string& org_id, const std::string& name,
                       const audit_ctx& who);

  /// Replaces the org's price overrides.
  policy::outcome<bool>
  set_pricing(const std::string& org_id,
              std::vector<storage::price_override> prices,
              const audit_ctx& who);

  // -- teams, apps, members (blocking) ------------------------------------

  /// Creates (`is_new`) or replaces a team.
  policy::outcome<storage::team_record>
  put_team(const std::string& org_id, storage::team_record rec, bool is_new,
           const audit_ctx& who);

  /// Deletes a team; its members and keys become unassigned.
  policy::outcome<bool> delete_team(const std::string& org_id,
                                    const std::string& team_id,
                                    const audit_ctx& who);

  /// Live month-to-date figures of the org's teams.
  policy::outcome<std::vector<team_usage>>
  team_usages(const std::string& org_id, long long now_s);

  /// Creates (`is_new`) or replaces an app.
  policy::outcome<storage::app_record>
  put_app(const std::string& org_id, storage::app_record rec, bool is_new,
          const audit_ctx& who);

  /// Deletes an app with its keys and request logs.
  policy::outcome<bool> delete_app(const std::string& org_id,
                                   const std::string& app_id,
                                   const audit_ctx& who);

  /// Removes a member from the org, revoking their keys there.
  policy::outcome<bool> remove_member(const std::string& org_id,
                                      const std::string& user_id,
                                      const audit_ctx& who);

  // -- webhooks -----------------------------------------------------------

  /// Starts delivering webhooks, posting with `post` (the node's id names
  /// its claims when `opts.node_id` is empty).
  void start_webhooks(webhook_poster post, webhook_options opts);

  /// The node's webhook deliveries: events are queued through it.
  webhook_worker& webhooks();

  /// Deletes request logs past each org's retention, as of `now_s`;
  /// answers how many rows went.
  long long sweep_logs(long long now_s);

  /// The node's counters for Prometheus.
  metrics_registry& metrics();

  /// The number of organizations with a live actor on this node.
  std::size_t live_orgs() const;

  /// The members of the cluster (on a single node: this node alone).
  const cluster_view& cluster() const;

  /// Announces a graceful stop to the cluster (no-op on a single node).
  void leave_cluster();

  /// Writes every pending log entry now.
  void flush();

  /// Stops every actor after flushing; later calls fail.
  void shutdown();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace gatehouse::actors
