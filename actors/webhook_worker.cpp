#include "actors/webhook_worker.hpp"

#include <algorithm>
#include <chrono>
#include <future>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "policy/ids.hpp"
#include "policy/time.hpp"
#include "storage/pool.hpp"
#include "storage/secrets.hpp"
#include "storage/store.hpp"

namespace gatehouse::actors {

namespace {

using clock = std::chrono::system_clock;

/// Rows claimed at once; their POSTs go out together.
constexpr int claim_batch = 16;
/// How long a claim keeps other nodes off a row: beyond any POST's
/// timeout, so it lapses only when its node stopped.
constexpr std::int64_t claim_ms = 60 * 1000;
/// The longest sleep between looks at the queue (other nodes' retries,
/// lapsed claims).
constexpr std::int64_t idle_look_ms = 30 * 1000;
/// Key expiry sweeps and pruning, this often.
constexpr std::int64_t sweep_every_ms = 3600LL * 1000;
/// Finished deliveries and log entries are kept this long.
constexpr std::int64_t keep_ms = 30LL * 24 * 3600 * 1000;
/// Keys expiring within this are announced.
constexpr long long expiring_within_s = 7LL * 24 * 3600;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           clock::now().time_since_epoch())
    .count();
}

double usd(std::int64_t micros) {
  return static_cast<double>(micros) / 1e6;
}

} // namespace

std::string webhook_secret_aad(const std::string& webhook_id) {
  return "webhook:" + webhook_id;
}

std::string enqueue_webhook_event(storage::store& s, const webhook_event& ev,
                                  std::int64_t at_ms) {
  auto id = "evt_" + policy::uuid_v7(at_ms);
  auto created = policy::rfc3339_ms(at_ms);
  auto body
    = policy::webhook_body(id, ev.type, created, ev.org_id, ev.data_json);
  if (ev.once) {
    if (s.enqueue_webhook_event_once(*ev.once, created, ev.org_id, ev.app_id,
                                     id, ev.type, body, at_ms)
        < 0)
      return {};
    return id;
  }
  s.enqueue_webhook_event(ev.org_id, ev.app_id, id, ev.type, body, at_ms,
                          ev.webhook_id);
  return id;
}

// -- events of settled requests ---------------------------------------------

void org_webhooks::settled(const storage::request_log_record& log,
                           std::int64_t team_spent, std::int64_t team_limit,
                           std::int64_t now_ms) {
  if (log.error_code && *log.error_code == "guardrail_blocked") {
    nlohmann::json data{
      {"request_id", log.request_id},
      {"key_id", log.key_id.value_or("")},
      {"app_id", log.app_id ? nlohmann::json(*log.app_id) : nlohmann::json()},
      {"provider", log.provider},
      {"model", log.model}};
    if (log.guardrails_json) {
      auto hits = nlohmann::json::parse(*log.guardrails_json, nullptr, false);
      if (!hits.is_discarded())
        data["guardrails"] = std::move(hits);
    }
    worker_.emit(webhook_event{org_id_, log.app_id, "guardrail.blocked",
                               data.dump(), std::nullopt, std::nullopt});
  }
  if (!log.provider.empty()
      && policy::is_provider_error(log.status, log.error_code)) {
    bool burst = false;
    {
      std::lock_guard guard{mtx_};
      burst = errors_[log.provider].hit(now_ms);
    }
    if (burst)
      worker_.emit(webhook_event{
        org_id_, std::nullopt, "provider.errors",
        nlohmann::json{
          {"provider", log.provider},
          {"errors", policy::error_burst::threshold},
          {"window_seconds", policy::error_burst::window_ms / 1000},
          {"last_status", log.status},
          {"last_error",
           log.error_code ? nlohmann::json(*log.error_code) : nlohmann::json()}}
          .dump(),
        std::nullopt, std::nullopt});
  }
  if (!log.team_id || team_limit <= 0)
    return;
  auto level = policy::budget_threshold_reached(team_spent, team_limit);
  if (level == 0)
    return;
  auto month = log.created_at.substr(0, 7);
  std::vector<int> crossed;
  {
    std::lock_guard guard{mtx_};
    auto& seen = reached_[*log.team_id + "/" + month];
    crossed = policy::budget_thresholds_between(seen, level);
    seen = std::max(seen, level);
  }
  for (int t : crossed)
    worker_.emit(webhook_event{org_id_, std::nullopt, "budget.threshold",
                               nlohmann::json{{"team_id", *log.team_id},
                                              {"threshold", t},
                                              {"spend_usd", usd(team_spent)},
                                              {"limit_usd", usd(team_limit)},
                                              {"month", month}}
                                 .dump(),
                               "budget/" + *log.team_id + "/" + month + "/"
                                 + std::to_string(t),
                               std::nullopt});
}

// -- the delivery thread ----------------------------------------------------

webhook_worker::webhook_worker(storage::connection_pool& pool,
                               std::shared_ptr<const storage::secrets> secrets)
  : pool_(pool), secrets_(std::move(secrets)) {}

webhook_worker::~webhook_worker() {
  stop();
}

void webhook_worker::start(webhook_poster post, webhook_options opts) {
  if (thread_.joinable())
    return;
  post_ = std::move(post);
  opts_ = std::move(opts);
  thread_ = std::thread([this] { run(); });
}

void webhook_worker::stop() {
  {
    std::lock_guard guard{mtx_};
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable())
    thread_.join();
}

void webhook_worker::emit(webhook_event ev) {
  {
    std::lock_guard guard{mtx_};
    emitted_.push_back(std::move(ev));
  }
  cv_.notify_one();
}

void webhook_worker::nudge() {
  {
    std::lock_guard guard{mtx_};
    woken_ = true;
  }
  cv_.notify_one();
}

std::shared_ptr<org_webhooks> webhook_worker::org(const std::string& org_id) {
  std::lock_guard guard{orgs_mtx_};
  auto& slot = orgs_[org_id];
  if (auto live = slot.lock())
    return live;
  // Drop what orgs that went away left behind, each time the registry
  // doubled: a spawn costs no walk over every live org.
  if (orgs_.size() >= prune_at_) {
    for (auto i = orgs_.begin(); i != orgs_.end();)
      i = i->second.expired() && i->first != org_id ? orgs_.erase(i)
                                                    : std::next(i);
    prune_at_ = std::max<std::size_t>(64, 2 * orgs_.size());
  }
  auto made = std::make_shared<org_webhooks>(org_id, *this);
  orgs_[org_id] = made;
  return made;
}

void webhook_worker::set_active(const std::string& org_id, bool active) {
  std::lock_guard guard{orgs_mtx_};
  auto i = orgs_.find(org_id);
  if (i == orgs_.end())
    return;
  if (auto live = i->second.lock())
    live->active.store(active, std::memory_order_relaxed);
}

void webhook_worker::run() {
  std::int64_t wake_at = 0; // look at the queue at once
  for (;;) {
    std::vector<webhook_event> events;
    bool stopping = false;
    {
      std::unique_lock lock{mtx_};
      auto until = clock::time_point{std::chrono::milliseconds{wake_at}};
      cv_.wait_until(lock, until,
                     [&] { return stopping_ || woken_ || !emitted_.empty(); });
      stopping = stopping_;
      woken_ = false;
      events.swap(emitted_);
    }
    try {
      auto lease = pool_.try_acquire_for(std::chrono::seconds{1});
      if (!lease)
        throw storage::storage_error("no database connection is free");
      storage::store s{**lease};
      auto now = now_ms();
      while (!events.empty()) {
        enqueue_webhook_event(s, events.back(), now);
        events.pop_back();
      }
      if (stopping)
        return;
      sweep(s, now);
      pass(s);
      auto due = s.next_webhook_due();
      auto look = now_ms() + idle_look_ms;
      wake_at = due ? std::min(*due, look) : look;
    } catch (const std::exception& e) {
      spdlog::warn("webhook deliveries: {}; trying again in a second",
                   e.what());
      if (stopping)
        return;
      std::lock_guard guard{mtx_};
      emitted_.insert(emitted_.end(), events.begin(), events.end());
      wake_at = now_ms() + 1000;
    }
  }
}

void webhook_worker::pass(storage::store& s) {
  for (;;) {
    {
      std::lock_guard guard{mtx_};
      if (stopping_)
        return;
    }
    auto batch = s.claim_webhook_deliveries(now_ms(), claim_ms, opts_.node_id,
                                            claim_batch);
    if (batch.empty())
      return;
    if (batch.size() == 1) {
      deliver(s, std::move(batch.front()));
      continue;
    }
    // The POSTs of a batch wait for their receivers side by side.
    std::vector<std::future<void>> sent;
    for (auto& d : batch)
      sent.push_back(std::async(std::launch::async,
                                [this, &s, &d] { deliver(s, std::move(d)); }));
    for (auto& f : sent)
      f.get();
  }
}

void webhook_worker::deliver(storage::store& s, storage::webhook_delivery d) {
  webhook_answer answer;
  auto secret = storage::open_secret(*secrets_, d.secret_encrypted,
                                     webhook_secret_aad(d.webhook_id));
  auto key = secret ? policy::webhook_secret_key(*secret) : std::nullopt;
  auto sent_ms = now_ms();
  if (!key) {
    answer.error = "the webhook's secret cannot be read";
  } else {
    webhook_post p;
    p.url = d.url;
    p.body = d.payload;
    auto ts = sent_ms / 1000;
    p.headers = {{"content-type", "application/json"},
                 {"user-agent", "Gatehouse-Webhooks/1"},
                 {"webhook-id", d.event_id},
                 {"webhook-timestamp", std::to_string(ts)},
                 {"webhook-signature",
                  policy::webhook_signature(*key, d.event_id, ts, d.payload)}};
    answer = post_(p);
  }
  auto done_ms = now_ms();
  storage::webhook_attempt a;
  a.id = policy::uuid_v7(done_ms);
  a.webhook_id = d.webhook_id;
  a.event_id = d.event_id;
  a.type = d.type;
  a.attempt = d.attempt + 1;
  a.status_code = answer.status;
  a.at = policy::rfc3339_ms(done_ms);
  bool ok = answer.status && *answer.status >= 200 && *answer.status <= 299;
  if (!ok)
    a.error = !answer.error.empty()
                ? answer.error
                : "the receiver answered " + std::to_string(*answer.status);
  d.attempt = a.attempt;
  if (ok) {
    d.state = "delivered";
  } else if (auto next = policy::webhook_next_attempt(
               d.attempt, d.created_ms, done_ms, opts_.retry_base_ms)) {
    d.next_attempt_ms = *next;
  } else {
    d.state = "failed";
  }
  // Attempts of one batch finish on several threads; the connection is
  // the delivery thread's and takes one statement at a time.
  std::lock_guard guard{record_mtx_};
  s.record_webhook_attempt(d, a);
}

void webhook_worker::sweep(storage::store& s, std::int64_t now) {
  if (now < next_sweep_ms_)
    return;
  next_sweep_ms_ = now + sweep_every_ms;
  auto now_s = now / 1000;
  for (auto& k : s.keys_expiring(policy::rfc3339(now_s),
                                 policy::rfc3339(now_s + expiring_within_s))) {
    webhook_event ev;
    ev.org_id = k.org_id;
    ev.app_id = k.app_id;
    ev.type = "key.expiring";
    ev.data_json = key_event_data(k);
    ev.once = "expiring/" + k.id + "/" + k.expires_at.value_or("");
    enqueue_webhook_event(s, ev, now);
  }
  s.prune_webhook_rows(now - keep_ms, policy::rfc3339(now_s - keep_ms / 1000));
}

std::string key_event_data(const storage::api_key_record& k) {
  auto opt = [](const std::optional<std::string>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  return nlohmann::json{{"key_id", k.id},
                        {"name", k.name},
                        {"prefix", k.key_prefix},
                        {"user_id", k.user_id},
                        {"app_id", opt(k.app_id)},
                        {"team_id", opt(k.team_id)},
                        {"expires_at", opt(k.expires_at)},
                        {"status", k.status}}
    .dump();
}

} // namespace gatehouse::actors
