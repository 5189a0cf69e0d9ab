#pragma once

// Node and per-org counters for Prometheus. Thread-safe; no CAF, so the
// HTTP layer may render it directly.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "policy/errc.hpp"
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

  /// Streams currently relayed.
  void stream_opened();
  void stream_closed();

  /// A request log the database refused (after isolating it from the rest
  /// of its batch), or one dropped because too many waited unwritten.
  void log_entry_refused();
  void log_entries_overflowed(std::uint64_t n);

  /// A batch of request logs that could not be written now (database down
  /// or busy); its entries wait for the next attempt.
  void log_write_failed();

  /// An org actor was spawned (from storage) or passivated.
  void org_actor_started();
  void org_actor_passivated();

  /// The Prometheus text of one org, or of the whole node (all orgs summed).
  std::string render(const std::optional<std::string>& org_id) const;

private:
  struct counters {
    std::map<std::pair<std::string, std::string>, std::uint64_t> requests;
    std::map<std::string, std::uint64_t> errors; ///< by error code
    std::uint64_t tokens_in = 0;
    std::uint64_t tokens_out = 0;
    std::int64_t spend_micros = 0;
    std::uint64_t budget_rejections = 0;
    std::vector<std::uint64_t> latency_buckets; ///< per bucket, +Inf last
    double latency_sum = 0;
    std::uint64_t latency_count = 0;
  };

  counters& of(const std::string& org_id);
  static void add(counters& into, const counters& from);

  mutable std::mutex mtx_;
  std::map<std::string, counters> orgs_;
  std::atomic<std::int64_t> streams_{0};
  std::atomic<std::uint64_t> logs_refused_{0};
  std::atomic<std::uint64_t> logs_overflowed_{0};
  std::atomic<std::uint64_t> log_write_failures_{0};
  std::atomic<std::int64_t> org_actors_{0};
  std::atomic<std::uint64_t> passivations_{0};
};

} // namespace gatehouse::actors
