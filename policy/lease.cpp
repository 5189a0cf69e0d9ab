#include "policy/lease.hpp"

namespace gatehouse::policy {

std::int64_t lease_grant(std::int64_t remaining, std::int64_t need,
                         std::int64_t want, std::size_t members) noexcept {
  if (need <= 0 || remaining < need)
    return 0;
  if (want < need)
    want = need;
  auto per_member = lease_slices_per_member * static_cast<std::int64_t>(
                                                members > 0 ? members : 1);
  // Whole slices only while remaining / per_member covers one; dividing
  // keeps the comparison from overflowing.
  if (remaining / per_member < want)
    return need;
  return want;
}

} // namespace gatehouse::policy
