#include "actors/metrics.hpp"

#include <algorithm>
#include <iterator>
#include <thread>
#include <tuple>

#include "policy/pricing.hpp"
#include "policy/prometheus.hpp"
#include "storage/database.hpp"

namespace gatehouse::actors {

namespace {

const std::vector<double>& buckets() {
  return policy::latency_buckets_seconds();
}

std::atomic<std::uint64_t> next_registry_id{1};

} // namespace

metrics_registry::metrics_registry() : id_(next_registry_id++) {
}

metrics_registry::shard& metrics_registry::local() {
  // The shard this thread used last; a registry's id is never reused, so a
  // stale entry (another registry, since destroyed) is never taken.
  thread_local std::uint64_t cached_id = 0;
  thread_local shard* cached = nullptr;
  if (cached_id == id_)
    return *cached;
  // This thread's shard of this registry, made once: a thread that records
  // into several registries in turn finds its own again.
  const auto me = std::this_thread::get_id();
  std::lock_guard guard{shards_mtx_};
  auto mine = std::find_if(shards_.begin(), shards_.end(),
                           [&](const auto& s) { return s->owner == me; });
  if (mine == shards_.end()) {
    shards_.push_back(std::make_unique<shard>());
    shards_.back()->owner = me;
    mine = std::prev(shards_.end());
  }
  cached_id = id_;
  cached = mine->get();
  return *cached;
}

metrics_registry::counters& metrics_registry::of(shard& s,
                                                 const std::string& org_id) {
  auto& c = s.orgs[org_id];
  if (c.latency_buckets.empty())
    c.latency_buckets.assign(buckets().size() + 1, 0);
  return c;
}

void metrics_registry::count_request(counters& c, const std::string& provider,
                                     int status, std::uint64_t n) {
  for (auto& r : c.requests)
    if (r.status == status && r.provider == provider) {
      r.n += n;
      return;
    }
  c.requests.push_back({provider, status, n});
}

void metrics_registry::count_error(counters& c, std::string_view code,
                                   std::uint64_t n) {
  for (auto& [k, count] : c.errors)
    if (k == code) {
      count += n;
      return;
    }
  c.errors.emplace_back(std::string{code}, n);
}

void metrics_registry::record_exchange(
  const storage::request_log_record& log) {
  auto& s = local();
  std::lock_guard guard{s.mtx};
  auto& c = of(s, log.org_id);
  count_request(c, log.provider, log.status);
  if (log.error_code)
    count_error(c, *log.error_code);
  c.tokens_in += static_cast<std::uint64_t>(std::max<std::int64_t>(0, log.tokens_in));
  c.tokens_out += static_cast<std::uint64_t>(std::max<std::int64_t>(0, log.tokens_out));
  c.spend_micros += log.cost_micros;
  auto seconds = static_cast<double>(log.latency_ms) / 1000.0;
  ++c.latency_buckets[policy::bucket_index(buckets(), seconds)];
  c.latency_sum += seconds;
  ++c.latency_count;
}

void metrics_registry::record_denial(const std::string& org_id,
                                     policy::errc code) {
  auto& s = local();
  std::lock_guard guard{s.mtx};
  auto& c = of(s, org_id);
  count_error(c, policy::to_string(code));
  if (code == policy::errc::budget_exceeded)
    ++c.budget_rejections;
}

void metrics_registry::record_cache(const std::string& org_id, bool hit) {
  auto& s = local();
  std::lock_guard guard{s.mtx};
  auto& c = of(s, org_id);
  ++(hit ? c.cache_hits : c.cache_misses);
}

void metrics_registry::record_guardrail_hits(const std::string& org_id,
                                             std::uint64_t flagged,
                                             std::uint64_t redacted,
                                             std::uint64_t blocked) {
  auto& s = local();
  std::lock_guard guard{s.mtx};
  auto& c = of(s, org_id);
  c.guardrail_hits[0] += flagged;
  c.guardrail_hits[1] += redacted;
  c.guardrail_hits[2] += blocked;
}

void metrics_registry::stream_opened() {
  ++streams_;
}

void metrics_registry::stream_closed() {
  --streams_;
}

void metrics_registry::log_entry_refused() {
  ++logs_refused_;
}

void metrics_registry::log_entries_overflowed(std::uint64_t n) {
  logs_overflowed_ += n;
}

void metrics_registry::log_entry_queued() {
  ++logs_queued_direct_;
}

void metrics_registry::log_entries_settled(std::uint64_t n) {
  logs_settled_ += n;
}

void metrics_registry::count_inbox_with(
  std::function<std::uint64_t()> pushed) {
  inbox_pushed_ = std::move(pushed);
}

void metrics_registry::describe_node_with(
  std::function<void(policy::metrics_text&)> describe) {
  describe_node_ = std::move(describe);
}

void metrics_registry::log_write_failed() {
  ++log_write_failures_;
}

void metrics_registry::org_actor_started() {
  ++org_actors_;
}

void metrics_registry::org_actor_passivated() {
  --org_actors_;
  ++passivations_;
}

void metrics_registry::add(counters& into, const counters& from) {
  for (auto& r : from.requests)
    count_request(into, r.provider, r.status, r.n);
  for (auto& [k, v] : from.errors)
    count_error(into, k, v);
  into.tokens_in += from.tokens_in;
  into.tokens_out += from.tokens_out;
  into.spend_micros += from.spend_micros;
  into.budget_rejections += from.budget_rejections;
  for (int i = 0; i < 3; ++i)
    into.guardrail_hits[i] += from.guardrail_hits[i];
  into.cache_hits += from.cache_hits;
  into.cache_misses += from.cache_misses;
  for (size_t i = 0; i < from.latency_buckets.size(); ++i)
    into.latency_buckets[i] += from.latency_buckets[i];
  into.latency_sum += from.latency_sum;
  into.latency_count += from.latency_count;
}

std::string
metrics_registry::render(const std::optional<std::string>& org_id) const {
  counters c;
  c.latency_buckets.assign(buckets().size() + 1, 0);
  {
    std::lock_guard guard{shards_mtx_};
    for (auto& s : shards_) {
      std::lock_guard shard_guard{s->mtx};
      if (org_id) {
        if (auto it = s->orgs.find(*org_id); it != s->orgs.end())
          add(c, it->second);
      } else {
        for (auto& [id, org] : s->orgs)
          add(c, org);
      }
    }
  }
  // Series in a stable order, as before.
  std::sort(c.requests.begin(), c.requests.end(),
            [](const auto& a, const auto& b) {
              return std::tie(a.provider, a.status)
                     < std::tie(b.provider, b.status);
            });
  std::sort(c.errors.begin(), c.errors.end());
  using policy::labels;
  policy::metrics_text out;
  std::vector<std::pair<labels, double>> requests;
  for (auto& r : c.requests)
    requests.push_back(
      {{{"provider", r.provider}, {"status", std::to_string(r.status)}},
       static_cast<double>(r.n)});
  out.counter("gatehouse_requests_total",
              "Proxied requests by provider and HTTP status.", requests);
  std::vector<std::pair<labels, double>> errors;
  for (auto& [k, v] : c.errors)
    errors.push_back({{{"code", k}}, static_cast<double>(v)});
  out.counter("gatehouse_errors_total",
              "Refused or failed proxied requests by error code.", errors);
  out.counter("gatehouse_tokens_total", "Tokens by direction.",
              {{{{"direction", "in"}}, static_cast<double>(c.tokens_in)},
               {{{"direction", "out"}}, static_cast<double>(c.tokens_out)}});
  out.counter("gatehouse_spend_usd_total", "Priced spend in USD.",
              {{{}, policy::micros_to_usd(c.spend_micros)}});
  out.counter("gatehouse_budget_rejections_total",
              "Requests refused because a team budget was spent.",
              {{{}, static_cast<double>(c.budget_rejections)}});
  out.counter(
    "gatehouse_guardrail_hits_total",
    "Matches of guardrail rules in proxied requests and answers, by the "
    "action of the rule that matched.",
    {{{{"action", "block"}}, static_cast<double>(c.guardrail_hits[2])},
     {{{"action", "redact"}}, static_cast<double>(c.guardrail_hits[1])},
     {{{"action", "flag"}}, static_cast<double>(c.guardrail_hits[0])}});
  out.counter("gatehouse_cache_hits_total",
              "Proxied requests answered from the response cache.",
              {{{}, static_cast<double>(c.cache_hits)}});
  out.counter("gatehouse_cache_misses_total",
              "Proxied requests that asked the response cache and went to "
              "the provider.",
              {{{}, static_cast<double>(c.cache_misses)}});
  if (!org_id) {
    out.gauge("gatehouse_streams_in_flight", "Streams being relayed now.",
              {{{}, static_cast<double>(streams_.load())}});
    out.counter(
      "gatehouse_log_entries_dropped_total",
      "Request logs never stored: refused by the database (invalid) or "
      "beyond the backlog while it was unreachable (backlog).",
      {{{{"reason", "invalid"}}, static_cast<double>(logs_refused_.load())},
       {{{"reason", "backlog"}},
        static_cast<double>(logs_overflowed_.load())}});
    out.counter("gatehouse_log_write_failures_total",
                "Attempts to write a batch of request logs that failed and "
                "will be retried (database unreachable or busy).",
                {{{}, static_cast<double>(log_write_failures_.load())}});
    // Read settled before queued: a batch settled in between can only make
    // the backlog look smaller than it was, never negative.
    auto settled = logs_settled_.load();
    auto overflowed = logs_overflowed_.load();
    auto queued = logs_queued_direct_.load()
                  + (inbox_pushed_ ? inbox_pushed_() : 0);
    auto refused = logs_refused_.load();
    auto gone = settled + overflowed;
    out.counter("gatehouse_log_entries_written_total",
                "Request logs stored in the database.",
                {{{}, static_cast<double>(settled > refused ? settled - refused
                                                            : 0)}});
    out.gauge("gatehouse_log_backlog",
              "Request logs finished but not stored yet (queued for or "
              "being written by the storage writer).",
              {{{}, static_cast<double>(queued > gone ? queued - gone : 0)}});
    out.gauge("gatehouse_org_actors",
              "Organizations with a live actor on this node (the others "
              "are passivated and cost no timer or memory beyond their "
              "keys' directory entries).",
              {{{}, static_cast<double>(org_actors_.load())}});
    out.counter("gatehouse_org_passivations_total",
                "Org actors stopped after their idle timeout.",
                {{{}, static_cast<double>(passivations_.load())}});
    out.counter("gatehouse_storage_statements_total",
                "SQL statements run by this process.",
                {{{}, static_cast<double>(storage::statements_run())}});
    if (describe_node_)
      describe_node_(out);
  }
  policy::histogram_data h;
  h.bounds = buckets();
  h.counts = c.latency_buckets;
  h.sum = c.latency_sum;
  h.count = c.latency_count;
  out.histogram("gatehouse_upstream_latency_seconds",
                "Time from receiving a request to the end of its answer.",
                {{{}, h}});
  return out.str();
}

} // namespace gatehouse::actors
