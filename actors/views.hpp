#pragma once

// The public JSON shape of stored records, shared by the HTTP answers and the
// audit log's before/after snapshots so both always agree.

#include <nlohmann/json_fwd.hpp>

#include "storage/records.hpp"

namespace gatehouse::actors {

/// `{id, slug, name, plan}`.
nlohmann::json org_brief(const storage::org_record& org);

/// `{id, slug, name, plan, created_at, settings}` with effective settings.
nlohmann::json org_full(const storage::org_record& org);

/// The org's settings with defaults applied for its plan.
nlohmann::json effective_settings(const storage::org_record& org);

/// `{id, email, display_name}`.
nlohmann::json user_brief(const storage::user_record& user);

/// A provider as the API shows it: never its key, only whether it has one
/// and the key's last four characters.
nlohmann::json provider_view(const storage::provider_record& p);

/// Stored guardrail rules (a JSON array as text) as the API shows them;
/// `[]` for none or for text that is not an array.
nlohmann::json guardrails_view(const std::string& rules_json);

/// Stored model aliases (a JSON object as text) as the API shows them;
/// `{}` for none or for text that is not an object.
nlohmann::json aliases_view(const std::string& aliases_json);

/// An app's stored response cache settings as the API shows them:
/// `{"enabled", "ttl_seconds"}`, off with the default TTL when unset.
nlohmann::json cache_view(const std::string& cache_json);

/// A key as listed by the API: never its hash.
nlohmann::json key_view(const storage::api_key_record& key, long long now_s);

} // namespace gatehouse::actors
