#include "actors/metrics.hpp"

#include "policy/pricing.hpp"
#include "policy/prometheus.hpp"
#include "storage/database.hpp"

namespace gatehouse::actors {

namespace {

const std::vector<double>& buckets() {
  return policy::latency_buckets_seconds();
}

} // namespace

metrics_registry::metrics_registry() = default;

metrics_registry::counters& metrics_registry::of(const std::string& org_id) {
  auto& c = orgs_[org_id];
  if (c.latency_buckets.empty())
    c.latency_buckets.assign(buckets().size() + 1, 0);
  return c;
}

void metrics_registry::record_exchange(
  const storage::request_log_record& log) {
  std::lock_guard guard{mtx_};
  auto& c = of(log.org_id);
  ++c.requests[{log.provider, std::to_string(log.status)}];
  if (log.error_code)
    ++c.errors[*log.error_code];
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
  std::lock_guard guard{mtx_};
  auto& c = of(org_id);
  ++c.errors[std::string{policy::to_string(code)}];
  if (code == policy::errc::budget_exceeded)
    ++c.budget_rejections;
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
  for (auto& [k, v] : from.requests)
    into.requests[k] += v;
  for (auto& [k, v] : from.errors)
    into.errors[k] += v;
  into.tokens_in += from.tokens_in;
  into.tokens_out += from.tokens_out;
  into.spend_micros += from.spend_micros;
  into.budget_rejections += from.budget_rejections;
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
    std::lock_guard guard{mtx_};
    for (auto& [id, org] : orgs_)
      if (!org_id || id == *org_id)
        add(c, org);
  }
  using policy::labels;
  policy::metrics_text out;
  std::vector<std::pair<labels, double>> requests;
  for (auto& [k, v] : c.requests)
    requests.push_back({{{"provider", k.first}, {"status", k.second}},
                        static_cast<double>(v)});
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
