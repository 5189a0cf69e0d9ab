#pragma once

// How a team's budget is shared out between the members of a cluster: the
// org's home node keeps the ledger of record and grants each other member
// a lease, a slice of what remains, that it admits requests from locally.
// These rules size the slices; the actors apply them (actors/org_lease.cpp,
// docs/cluster.md).

#include <cstddef>
#include <cstdint>

namespace gatehouse::policy {

/// Estimates a member asks for at once by default, so that it asks the home
/// about once every this many requests while the team is far from its cap.
constexpr std::int64_t lease_slice_requests = 64;

/// The home grants whole slices only while what remains covers this many
/// slices for every member; below that it grants exactly what a request
/// needs, so that no budget is stranded in leases near the cap.
constexpr std::int64_t lease_slices_per_member = 4;

/// What a member needs to admit a request estimated at `estimate_micros`:
/// the estimate, and at least one micro-dollar (an estimate of 0 still
/// needs a lease that is not spent out).
constexpr std::int64_t lease_need(std::int64_t estimate_micros) noexcept {
  return estimate_micros > 0 ? estimate_micros : 1;
}

/// The slice a member asks for beside `need`: `slice` times the need (the
/// --cluster-lease-slice setting).
constexpr std::int64_t
lease_want(std::int64_t need,
           std::int64_t slice = lease_slice_requests) noexcept {
  if (slice < 1)
    slice = 1;
  return need > INT64_MAX / slice ? need : need * slice;
}

/// What the home grants a member asking for `need` (and hoping for `want`)
/// when `remaining` of the cap is neither spent, in flight nor leased out,
/// among `members` members: 0 when `remaining` is below `need` (refused);
/// `need` alone near the cap (remaining below lease_slices_per_member
/// slices of `want` per member); otherwise `want`. Never more than
/// `remaining`.
std::int64_t lease_grant(std::int64_t remaining, std::int64_t need,
                         std::int64_t want, std::size_t members) noexcept;

/// When a member holding a lease of `granted` (granted for a request that
/// needed `need`) asks for the next one in the background: once less than
/// this is left. 0 (never ahead of time) for a grant of just the need,
/// which is what the home gives near the cap.
constexpr std::int64_t lease_low_water(std::int64_t granted,
                                       std::int64_t need) noexcept {
  return granted > need ? granted / 4 : 0;
}

} // namespace gatehouse::policy
