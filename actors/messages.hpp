#pragma once

// Plain value types exchanged with the actors. No CAF here: the HTTP layer
// includes this header through gateway.hpp.

#include <optional>
#include <string>
#include <vector>

#include "policy/errc.hpp"

namespace gatehouse::actors {

/// Who changes state, from where and when; recorded in the audit log.
struct audit_ctx {
  std::string actor_type; ///< "user", "operator" or "key"
  std::string actor_id;
  std::string ip;
  long long now_s = 0;
};

/// The org actor's answer to "is this API key usable now?".
struct key_verdict {
  bool valid = false;
  policy::errc code = policy::errc::unauthorized;
  std::string reason;
  std::string org_id;
  std::string key_id;
  std::vector<std::string> scopes;
  std::optional<std::string> app_id;
  std::optional<std::string> team_id;
  std::optional<int> rate_limit_rpm;
};

/// A partial change of an organization's editable fields.
struct org_update {
  std::optional<std::string> name;
  std::optional<std::string> settings_json; ///< the complete new settings
};

/// Answer of the authentication-endpoint limiter.
struct limit_decision {
  bool allowed = true;
  long long retry_after_s = 0;
};

} // namespace gatehouse::actors
