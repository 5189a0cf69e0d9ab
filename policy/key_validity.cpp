#include "policy/key_validity.hpp"

namespace gatehouse::policy {

key_check check_key(bool revoked, std::optional<long long> expires_at_s,
                    bool via_previous_hash,
                    std::optional<long long> previous_valid_until_s,
                    long long now_s) {
  if (revoked)
    return key_check::revoked;
  if (expires_at_s && now_s >= *expires_at_s)
    return key_check::expired;
  if (via_previous_hash
      && (!previous_valid_until_s || now_s >= *previous_valid_until_s))
    return key_check::rotated_out;
  return key_check::valid;
}

} // namespace gatehouse::policy
