#pragma once

// Guardrail rules in management request bodies: the org's rules and the
// `guardrails` field of apps and keys.

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "http/context.hpp"
#include "policy/guardrails.hpp"

namespace gatehouse::http {

/// Reads one level's rules from `value` (a JSON array) for the caller's
/// org: 400 `invalid_request` naming `field` for a malformed rule, 403
/// `plan_required` for a detector of personal data without the
/// `pii_redaction` feature, and 400 for a rule that would loosen one of
/// `upper` (the levels above). Answers the rules as stored (a JSON array
/// as text).
std::string stored_guardrails(const request_context& ctx,
                              const nlohmann::json& value,
                              std::string_view field,
                              const policy::guardrail_rules& upper = {});

/// The rules stored as `rules_json` (validated when written); none when
/// they do not read back.
policy::guardrail_rules read_guardrails(const std::string& rules_json);

} // namespace gatehouse::http
