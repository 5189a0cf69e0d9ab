#pragma once

// Counters shared between an org actor and the I/O threads that authorize
// its requests from its published view. Atomic, so admission is decided by
// compare-and-swap: no two requests can both take the last of a budget.

#include <atomic>
#include <cstdint>
#include <string>

namespace gatehouse::actors {

/// A team's budget for one UTC month. A new month gets a new ledger, so
/// requests admitted in the old month settle into the old one.
struct team_ledger {
  team_ledger(std::string m, std::int64_t limit_micros)
    : month(std::move(m)), limit(limit_micros) {
  }

  const std::string month; ///< "YYYY-MM"
  /// The monthly limit in micro-dollars, or `no_limit`.
  std::atomic<std::int64_t> limit;
  /// Month-to-date spend plus the estimates of requests in flight.
  std::atomic<std::int64_t> committed{0};
  std::atomic<std::int64_t> spent{0};
  std::atomic<std::int64_t> requests{0};

  static constexpr std::int64_t no_limit = -1;

  /// Reserves `estimate` if it fits: spend plus in-flight estimates plus
  /// this one must stay within the limit (and nothing is admitted once the
  /// limit is reached).
  bool reserve(std::int64_t estimate) {
    auto cap = limit.load();
    if (cap == no_limit)
      return true;
    auto cur = committed.load();
    do {
      if (cur >= cap || estimate > cap - cur)
        return false;
    } while (!committed.compare_exchange_weak(cur, cur + estimate));
    return true;
  }

  /// Replaces a reservation by the actual cost.
  void settle(std::int64_t reserved, std::int64_t actual) {
    committed += actual - reserved;
    spent += actual;
    ++requests;
  }
};

/// A key's GCRA state for its requests-per-minute limit.
struct key_rate {
  std::atomic<std::int64_t> tat_us{0}; ///< theoretical arrival time

  /// Admits a request at `now_us` under `rpm` (a burst of `rpm` after
  /// idling, then one every 60/rpm s); on refusal, `retry_after_us` says
  /// when the same request would pass.
  bool hit(int rpm, std::int64_t now_us, std::int64_t& retry_after_us) {
    if (rpm <= 0) {
      retry_after_us = 60'000'000;
      return false;
    }
    const std::int64_t interval = 60'000'000 / rpm;
    const std::int64_t tolerance = 60'000'000 - interval;
    auto tat = tat_us.load();
    for (;;) {
      auto start = tat > now_us ? tat : now_us;
      if (start - now_us > tolerance) {
        retry_after_us = start - now_us - tolerance;
        return false;
      }
      if (tat_us.compare_exchange_weak(tat, start + interval))
        return true;
    }
  }
};

} // namespace gatehouse::actors
