#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/fwd.hpp"
#include "actors/ledger.hpp"
#include "actors/metrics.hpp"
#include "actors/org_lease.hpp"
#include "actors/webhook_worker.hpp"
#include "policy/outcome.hpp"
#include "policy/pricing.hpp"
#include "storage/secrets.hpp"

namespace gatehouse::actors {

class directory;

/// What an org actor starts from, loaded from storage.
struct org_snapshot {
  storage::org_record org;
  std::vector<storage::api_key_record> keys;
  std::vector<storage::provider_record> providers;
  std::vector<storage::price_override> prices;
  std::vector<storage::team_record> teams;
  std::vector<storage::app_record> apps;
  /// Counters of the month `month` (team spend survives restarts).
  std::vector<storage::usage_delta> month_usage;
  std::string month; ///< "YYYY-MM"
  /// The org has a webhook.
  bool has_webhooks = false;
};

/// A team as the org actor keeps it: its record and this month's ledger.
struct team_entry {
  storage::team_record rec; ///< as last written
  std::shared_ptr<team_ledger> ledger;
};

/// One provider in the org actor's table, ready to connect to.
struct provider_entry {
  storage::provider_record rec;
  upstream_target target;
};

/// The services an org actor talks to.
struct org_links {
  std::shared_ptr<directory> dir;
  caf::actor db;                 ///< storage workers (blocking writes)
  storage_writer_actor writer;   ///< batched logs and counters
  std::shared_ptr<const storage::secrets> secrets;
  std::shared_ptr<metrics_registry> metrics;
  /// The cluster (both null on a single node without cluster settings).
  std::shared_ptr<cluster_view> cluster;
  std::shared_ptr<cluster_routes> routes;
  /// The node's webhook deliveries (null: no events are raised).
  std::shared_ptr<webhook_worker> webhooks;
};

/// One key in the org actor's table.
struct key_entry {
  storage::api_key_record rec;
  std::optional<long long> expires_s;
};

/// Everything an authorization reads. The org actor owns it and, after
/// every change, publishes a copy that I/O threads authorize from without
/// a message; the ledgers and rate states are shared with that copy.
struct org_view {
  storage::org_record org;
  std::unordered_map<std::string, key_entry> keys;  ///< by key id
  std::unordered_map<std::string, std::string> ids; ///< key hash -> key id
  std::map<std::string, provider_entry> providers; ///< by name
  std::map<std::string, policy::model_price> prices; ///< org overrides
  std::map<std::string, team_entry> teams;           ///< by team id
  std::map<std::string, app_state> apps;             ///< by app id
  /// Rate state of keys with a limit, by key id.
  std::unordered_map<std::string, std::shared_ptr<key_rate>> rates;
  std::string month; ///< the UTC month of the team ledgers
  /// The effective guardrail rules (org, app, key) compiled, by key id,
  /// for the keys that have any; empty when no level has a rule, so that
  /// authorization then looks for nothing.
  std::unordered_map<std::string,
                     std::shared_ptr<const policy::compiled_guardrails>>
    guards;
  /// The org's model aliases (the apps' are in `apps`).
  policy::alias_table aliases;
  /// Whether the org or any app has an alias: authorization looks for
  /// none otherwise.
  bool any_aliases = false;
  /// The events settled requests raise for the org's webhooks; null or
  /// inactive when it has none, so that settlement then looks for nothing.
  std::shared_ptr<org_webhooks> webhooks;
};

/// Compiled guardrail rules kept between rebuilds, so that a change
/// compiles only the combinations it makes new.
struct guardrail_cache {
  /// The org's and the apps' rules the entries were compiled with.
  std::string org_rules;
  std::map<std::string, std::string> app_rules; ///< by app id
  /// By the key's app id and own rules ("<app id>\x1f<rules>").
  std::map<std::string, std::shared_ptr<const policy::compiled_guardrails>>
    compiled;
};

/// State of an org actor.
struct org_state : org_view {
  std::map<std::string, storage::app_record> app_recs; ///< by app id
  org_links links;
  /// Counts committed mutations, so a refresh that raced one is dropped.
  uint64_t version = 0;
  /// A passivation waits for the storage writer's flush.
  bool passivating = false;
  /// Team budgets shared with the other members of a cluster.
  lease_book leases;
  guardrail_cache guard_cache;
  static inline const char* name = "org_actor";
};

/// Spawns with `spawn(org_actor_impl, snapshot, links)`: `links.db` runs
/// storage jobs (see storage_worker.hpp); the org actor awaits each write
/// before it changes its state and answers.
///
/// The actor keeps no timer. It re-reads its organization row when told
/// (`refresh_atom`, from the change watcher) and stops when told it is idle
/// (`passivate_atom`, from the idle sweep) once nothing it owns lives only
/// in memory: no request holds it, its keys' rate limits are at rest, and
/// the storage writer has committed every settled request. Spawned again
/// from storage, it then starts exactly where it stopped.
org_actor::behavior_type
org_actor_impl(org_actor::stateful_pointer<org_state> self, org_snapshot snap,
               org_links links);

// Decisions on an org's state, without messaging (org_decisions.cpp).

/// Is the key with this hash usable at `now_s`?
key_verdict verdict_for(const org_view& st, const std::string& hash,
                        long long now_s);

/// Authorizes a proxied request: key, app, provider selection, scopes,
/// plan, per-key rate limit and team budget (whose estimate it reserves in
/// the team's ledger). The view's month must be the request's.
/// `rate_taken`: the key's rate-limit hit was counted by an earlier call
/// for the same request (one that the team budget deferred).
authorization authorize(const org_view& st, const proxy_request& req,
                        bool rate_taken = false);

/// The refusal of a request whose team budget is spent, at `now_s`.
authorization budget_refusal(long long now_s);

/// The refusal of a request over its key's limit of `rpm` requests per
/// minute; the same request would pass in `retry_after_ms`.
authorization rate_refusal(int rpm, std::int64_t retry_after_ms);

/// Gives the teams fresh ledgers when `now_s` is in another month; true if
/// it did (the view must then be published again).
bool roll_month(org_state& st, long long now_s);

/// Settles a finished exchange: prices it, replaces its budget reservation
/// by the actual cost, counts it in `metrics` (if any) and answers the log
/// entry for the storage writer.
log_entry settle_exchange(const org_view& st, settlement done,
                          metrics_registry* metrics);

/// The providers a key may use, for listing models.
authorization key_targets(const org_view& st, const std::string& hash,
                          long long now_s);

/// Compiles the effective guardrail rules of every active key into
/// `st.guards` after a change of the org's, an app's or a key's rules (or
/// of the keys themselves), reusing what `st.guard_cache` holds.
void rebuild_guardrails(org_state& st);

/// Reads the org's and the apps' stored aliases into `st.aliases` and the
/// apps' states after a change.
void index_aliases(org_state& st);

/// Makes `st` the view I/O threads authorize from.
void publish(const org_state& st);

/// True when every key's rate limit has fully recovered at `now_us`, so a
/// fresh rate state would decide the same.
bool rates_at_rest(const org_view& st, std::int64_t now_us);

/// The connection details of a stored provider; decrypts its key.
policy::outcome<upstream_target>
make_target(const storage::provider_record& rec,
            const storage::secrets& secrets);

} // namespace gatehouse::actors
