#pragma once

// Counters shared between an org actor and the I/O threads that authorize
// its requests from its published view. Atomic, so admission is decided by
// compare-and-swap: no two requests can both take the last of a budget. The
// rules themselves are policy's (policy::admits, policy::gcra), inline, so
// the loops cost what hand-written ones would.

#include <atomic>
#include <cstdint>
#include <string>

#include "policy/budget.hpp"
#include "policy/key_rate_limit.hpp"

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

  // -- in a cluster (actors/org_lease.cpp) -----------------------------------
  // On the org's home node `limit` is the team's cap and `committed` also
  // holds what is leased out to other members; on every other member
  // `limit` is this node's lease and `committed` what it admitted from it.

  /// A refusal is not final: the org actor may still find the budget (ask
  /// the home for a lease, or call unused leases back). Read by the I/O
  /// threads, which then hand the request to the actor.
  std::atomic<bool> deferrable{false};
  /// Ask for the next lease once less than this is left of it (0: never
  /// ahead of time).
  std::atomic<std::int64_t> low_water{0};
  /// A request for the next lease is on its way to the actor.
  std::atomic<bool> refill_asked{false};

  /// Reserves `estimate` if policy::admits lets it start: spend plus
  /// in-flight estimates plus this one within the limit, and nothing once
  /// the spend reached the limit. The compare-and-swap on `committed` makes
  /// the sum exact under concurrency. `spent` is read after `committed`
  /// (and `settle` moves `committed` first), so spend plus in flight is
  /// never less than the committed sum: reading the two apart can refuse
  /// early, never admit beyond the limit.
  bool reserve(std::int64_t estimate) {
    auto cap = limit.load();
    if (cap == no_limit)
      return true;
    auto cur = committed.load();
    do {
      auto paid = spent.load(std::memory_order_relaxed);
      if (!policy::admits(policy::budget_state{cap, paid, cur - paid},
                          estimate))
        return false;
    } while (!committed.compare_exchange_weak(cur, cur + estimate));
    return true;
  }

  /// True once, for the caller that should ask the actor for the next lease
  /// ahead of time: less than `low_water` is left and nobody asked yet.
  bool wants_refill() {
    auto low = low_water.load(std::memory_order_relaxed);
    if (low <= 0 || limit.load() - committed.load() >= low
        || refill_asked.load(std::memory_order_relaxed))
      return false;
    return !refill_asked.exchange(true);
  }

  /// Gives up what is left of the lease: afterwards `limit` equals
  /// `committed` (nothing more can be admitted from it) and the answer is
  /// what `limit` went down by. Negative when settlements cost more than
  /// their estimates and overdrew the lease: `limit` then goes up to cover
  /// them. Only the org actor changes `limit`.
  std::int64_t give_up_rest() {
    auto lim = limit.load();
    auto cur = committed.load();
    // Taking the rest as one reservation first: no admission can slip in
    // between reading what is left and lowering the limit.
    while (cur < lim && !committed.compare_exchange_weak(cur, lim)) {
    }
    if (cur >= lim) {
      limit = cur;
      return lim - cur;
    }
    auto rest = lim - cur;
    limit -= rest;
    committed -= rest;
    return rest;
  }

  /// Replaces a reservation by the actual cost.
  void settle(std::int64_t reserved, std::int64_t actual) {
    committed += actual - reserved;
    spent += actual;
    ++requests;
  }
};

/// A key's GCRA state for its requests-per-minute limit, as one word (see
/// policy::gcra::hit_due). A key's limit does not change while it lives.
struct key_rate {
  /// When the key owes nothing, in milliseconds times its rpm.
  std::atomic<std::int64_t> due{0};
  /// In a cluster, on a member that is not the org's home: the home
  /// decides, so every request of the key is handed to the org actor,
  /// which asks it (actors/org_lease.cpp).
  std::atomic<bool> remote{false};

  /// Admits a request at `now_ms` under `rpm` (a burst of `rpm` after
  /// idling, then one every 60/rpm s); on refusal, `retry_after_ms` says
  /// when the same request would pass.
  bool hit(int rpm, std::int64_t now_ms, std::int64_t& retry_after_ms) {
    auto cur = due.load();
    for (;;) {
      auto s = policy::gcra::hit_due(cur, rpm, now_ms);
      if (!s.allowed) {
        retry_after_ms = s.retry_after_ms;
        return false;
      }
      if (due.compare_exchange_weak(cur, s.state))
        return true;
    }
  }

  /// True when the key owes nothing at `now_ms` under `rpm`.
  bool at_rest(int rpm, std::int64_t now_ms) const {
    return policy::gcra::at_rest(due.load(), rpm, now_ms);
  }
};

} // namespace gatehouse::actors
