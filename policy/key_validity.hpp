#pragma once

#include <optional>

namespace gatehouse::policy {

/// Why an API key may or may not be used.
enum class key_check {
  valid, ///< usable
  revoked, ///< revoked by a user
  expired, ///< past its `expires_at`
  rotated_out, ///< an old hash used after its rotation overlap ended
};

/// Decides whether a key is usable at `now_s`.
///
/// `via_previous_hash` says the presented key matched the hash the key had
/// before its last rotation; that hash stays valid until
/// `previous_valid_until_s` (exclusive).
key_check check_key(bool revoked, std::optional<long long> expires_at_s,
                    bool via_previous_hash,
                    std::optional<long long> previous_valid_until_s,
                    long long now_s);

/// True when one more active key fits under `max_keys`.
inline bool key_fits(int active_keys, int max_keys) {
  return active_keys < max_keys;
}

} // namespace gatehouse::policy
