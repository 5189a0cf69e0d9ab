#pragma once

// Webhook deliveries: events go into a queue in the database, and one
// thread per node takes the due rows, posts them, and records each attempt.
// No CAF here: the HTTP layer and the org actors use it alike.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "policy/webhook.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage {
class connection_pool;
class store;
struct secrets;
} // namespace gatehouse::storage

namespace gatehouse::actors {

class webhook_worker;

/// An event for an organization's webhooks.
struct webhook_event {
  std::string org_id;
  /// The app the event is about: its webhooks get it too.
  std::optional<std::string> app_id;
  std::string type;
  /// The delivery's `data`, a JSON object's text.
  std::string data_json = "{}";
  /// Raised once per organization and mark (e.g. a budget threshold of a
  /// team in a month): dropped when the mark was recorded before.
  std::optional<std::string> once;
  /// For this webhook alone, whatever it subscribed to (a test).
  std::optional<std::string> webhook_id;
};

/// Queues `ev` for the organization's webhooks at `now_ms` and answers the
/// event id (empty when a once-only event was raised before).
std::string enqueue_webhook_event(storage::store& s, const webhook_event& ev,
                                  std::int64_t now_ms);

/// The associated data a webhook's secret is sealed with.
std::string webhook_secret_aad(const std::string& webhook_id);

/// The `data` of a key event: id, name, prefix, owner, app, team, expiry
/// and status.
std::string key_event_data(const storage::api_key_record& k);

/// One signed POST to a receiver.
struct webhook_post {
  std::string url;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

/// What the receiver answered: its status, or why there was none.
struct webhook_answer {
  std::optional<int> status;
  std::string error;
};

/// Sends one POST and waits for its answer (blocking, with a timeout).
using webhook_poster = std::function<webhook_answer(const webhook_post&)>;

/// How deliveries are retried.
struct webhook_options {
  /// The first retry after this, doubling up to an hour apart.
  std::int64_t retry_base_ms = 5000;
  /// Names this node's claims on queued rows.
  std::string node_id = "gatehouse";
};

/// The events a settled request may raise for one organization: budget
/// thresholds of its teams, bursts of provider errors, guardrail blocks.
/// Held by the org's published view; `active` says whether the org has a
/// webhook, so an org without one pays one relaxed load per request.
class org_webhooks {
public:
  org_webhooks(std::string org_id, webhook_worker& worker)
    : org_id_(std::move(org_id)), worker_(worker) {}

  /// The org has at least one webhook.
  std::atomic<bool> active{false};

  /// Looks at a settled request (on the thread that settled it), with its
  /// team's month-to-date spend after it and the team's cap (0: none).
  void settled(const storage::request_log_record& log, std::int64_t team_spent,
               std::int64_t team_limit, std::int64_t now_ms);

private:
  std::string org_id_;
  webhook_worker& worker_;
  std::mutex mtx_;
  /// The highest threshold announced per "<team id>/<month>".
  std::map<std::string, int> reached_;
  /// Errors per provider.
  std::map<std::string, policy::error_burst> errors_;
};

/// The node's delivery thread and the registry of live orgs' hooks.
class webhook_worker {
public:
  /// Uses connections of `pool`; opens sealed secrets with `secrets`.
  webhook_worker(storage::connection_pool& pool,
                 std::shared_ptr<const storage::secrets> secrets);
  ~webhook_worker();

  webhook_worker(const webhook_worker&) = delete;
  webhook_worker& operator=(const webhook_worker&) = delete;

  /// Starts the delivery thread: events queued before are sent now.
  void start(webhook_poster post, webhook_options opts);

  /// Stops the thread (a delivery under way finishes first).
  void stop();

  /// Hands an event over without waiting: the delivery thread queues it.
  /// Cheap; callable from any thread.
  void emit(webhook_event ev);

  /// Wakes the delivery thread: something was queued.
  void nudge();

  /// The hooks of a live org (made on first use; kept while its view
  /// holds them).
  std::shared_ptr<org_webhooks> org(const std::string& org_id);

  /// Tells the live org's hooks whether it has a webhook now.
  void set_active(const std::string& org_id, bool active);

private:
  void run();
  void pass(storage::store& s);
  void deliver(storage::store& s, storage::webhook_delivery d);
  void sweep(storage::store& s, std::int64_t now_ms);

  storage::connection_pool& pool_;
  std::shared_ptr<const storage::secrets> secrets_;
  webhook_poster post_;
  webhook_options opts_;
  std::mutex mtx_;
  std::mutex record_mtx_;
  std::condition_variable cv_;
  std::vector<webhook_event> emitted_;
  bool woken_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::mutex orgs_mtx_;
  std::map<std::string, std::weak_ptr<org_webhooks>> orgs_;
  std::size_t prune_at_ = 64;
  std::int64_t next_sweep_ms_ = 0;
};

} // namespace gatehouse::actors
