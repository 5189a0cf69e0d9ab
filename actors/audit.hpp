#pragma once

// Audit entries, built the same way by org actors' commands and by the
// handlers that write to storage themselves.

#include <string>

#include <nlohmann/json.hpp>

#include "actors/messages.hpp"
#include "storage/records.hpp"

namespace gatehouse::actors {

/// An audit entry of `org_id` for `action` on a target, by `who` (its
/// time in milliseconds when it has them: entries of one second keep their
/// order). `before` and `after` are recorded unless null.
storage::audit_record audit_entry(const std::string& org_id,
                                  const audit_ctx& who, std::string action,
                                  std::string target_type,
                                  std::string target_id,
                                  const nlohmann::json& before = nullptr,
                                  const nlohmann::json& after = nullptr);

} // namespace gatehouse::actors
