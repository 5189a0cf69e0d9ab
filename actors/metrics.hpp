#pragma once

// Node and per-org counters for Prometheus. Thread-safe; no CAF, so the
// HTTP layer may render it directly.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/errc.hpp"
#include "policy/prometheus.hpp"
#include "storage/records.hpp"

namespace gatehouse::actors {

/// Counts proxied exchanges, refusals and open streams.
class metrics_registry {
public:
  metrics_registry();

  /// A settled exchange (priced).
  void record_exchange(const storage::request_log_record& log);

  /// A proxied request the org actor refused.
  void record_denial(const std::string& org_id, policy::errc code);

  /// Matches of guardrail rules in one exchange, by the rules' actions.
  void record_guardrail_hits(const std::string& org_id, std::uint64_t flagged,
                             std::uint64_t redacted, std::uint64_t blocked);

  /// A look-up in the response cache: a hit or a miss.
  void record_cache(const std::string& org_id, bool hit);

  /// Streams currently relayed.
  void stream_opened();
  void stream_closed();

  /// A request log the database refused (after isolating it from the rest
  /// of its batch), or one dropped because too many waited unwritten.
  void log_entry_refused();
  void log_entries_overflowed(std::uint64_t n);

  /// Request logs handed to the storage writer other than through the
  /// I/O threads' inbox (refusals logged by org actors).
  void log_entry_queued();

  /// Request logs whose batch storage has answered for: stored, or refused
  /// one by one (those are also counted by log_entry_refused).
  void log_entries_settled(std::uint64_t n);

  /// How many request logs the I/O threads have queued so far; read when
  /// rendering, so that the backlog costs the data plane nothing.
  void count_inbox_with(std::function<std::uint64_t()> pushed);

  /// Adds node-wide series written by `describe` (for example the
  /// cluster's) to every rendering of the whole node.
  void describe_node_with(std::function<void(policy::metrics_text&)> describe);

  /// A batch of request logs that could not be written now (database down
  /// or busy); its entries wait for the next attempt.
  void log_write_failed();

  /// An org actor was spawned (from storage) or passivated.
  void org_actor_started();
  void org_actor_passivated();

  /// The Prometheus text of one org, or of the whole node (all orgs summed).
  std::string render(const std::optional<std::string>& org_id) const;

private:
  /// One org's counters. Few providers, statuses and error codes occur
  /// per org, so they are searched in small vectors.
  struct counters {
    struct by_status {
      std::string provider;
      int status = 0;
      std::uint64_t n = 0;
    };
    std::vector<by_status> requests;
    std::vector<std::pair<std::string, std::uint64_t>> errors; ///< by code
    std::uint64_t tokens_in = 0;
    std::uint64_t tokens_out = 0;
    std::int64_t spend_micros = 0;
    std::uint64_t budget_rejections = 0;
    /// Guardrail matches: flagged, redacted, blocked.
    std::uint64_t guardrail_hits[3] = {0, 0, 0};
    std::uint64_t cache_hits = 0;
    std::uint64_t cache_misses = 0;
    std::vector<std::uint64_t> latency_buckets; ///< per bucket, +Inf last
    double latency_sum = 0;
    std::uint64_t latency_count = 0;
  };

  /// The counters written by one thread: recording takes only its own
  /// shard's lock, which nothing but rendering ever contends.
  struct shard {
    std::mutex mtx;
    std::unordered_map<std::string, counters> orgs;
    std::thread::id owner; ///< the one thread that records into it
  };

  shard& local();
  static counters& of(shard& s, const std::string& org_id);
  static void add(counters& into, const counters& from);
  static void count_request(counters& c, const std::string& provider,
                            int status, std::uint64_t n = 1);
  static void count_error(counters& c, std::string_view code,
                          std::uint64_t n = 1);

  const std::uint64_t id_; ///< tells this registry's shards from others'
  mutable std::mutex shards_mtx_;
  std::vector<std::unique_ptr<shard>> shards_;
  std::atomic<std::int64_t> streams_{0};
  std::atomic<std::uint64_t> logs_refused_{0};
  std::atomic<std::uint64_t> logs_overflowed_{0};
  std::atomic<std::uint64_t> log_write_failures_{0};
  std::atomic<std::uint64_t> logs_queued_direct_{0};
  std::atomic<std::uint64_t> logs_settled_{0};
  std::function<std::uint64_t()> inbox_pushed_;
  std::function<void(policy::metrics_text&)> describe_node_;
  std::atomic<std::int64_t> org_actors_{0};
  std::atomic<std::uint64_t> passivations_{0};
};

} // namespace gatehouse::actors
