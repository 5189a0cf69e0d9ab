#pragma once

#include "actors/webhook_worker.hpp"
#include "http/context.hpp"

namespace gatehouse::http {

// Health (health_handlers.cpp).
http_response handle_healthz(request_context& ctx);
http_response handle_readyz(request_context& ctx);

// Sign-up, login, session (auth_handlers.cpp).
http_response handle_signup(request_context& ctx);
http_response handle_login(request_context& ctx);
http_response handle_me(request_context& ctx);
http_response handle_entitlements(request_context& ctx);
http_response handle_my_orgs(request_context& ctx);
http_response handle_switch_org(request_context& ctx);

// The caller's organization (org_handlers.cpp).
http_response handle_org_get(request_context& ctx);
http_response handle_org_put(request_context& ctx);

// API keys (key_handlers.cpp).
http_response handle_keys_create(request_context& ctx);
http_response handle_keys_list(request_context& ctx);
http_response handle_keys_revoke(request_context& ctx);
http_response handle_keys_rotate(request_context& ctx);

// Providers (provider_handlers.cpp).
http_response handle_providers_create(request_context& ctx);
http_response handle_providers_list(request_context& ctx);
http_response handle_providers_get(request_context& ctx);
http_response handle_providers_update(request_context& ctx);
http_response handle_providers_delete(request_context& ctx);
http_response handle_providers_default(request_context& ctx);

// Prices (pricing_handlers.cpp).
http_response handle_pricing_get(request_context& ctx);
http_response handle_pricing_put(request_context& ctx);

// Logs and usage (log_handlers.cpp).
http_response handle_logs(request_context& ctx);
http_response handle_usage(request_context& ctx);

// Members (member_handlers.cpp).
http_response handle_users_list(request_context& ctx);
http_response handle_users_invite(request_context& ctx);
http_response handle_invite_accept(request_context& ctx);
http_response handle_users_update(request_context& ctx);
http_response handle_users_suspend(request_context& ctx);
http_response handle_users_reactivate(request_context& ctx);
http_response handle_users_resend(request_context& ctx);
http_response handle_users_delete(request_context& ctx);

// Teams (team_handlers.cpp).
http_response handle_teams_create(request_context& ctx);
http_response handle_teams_list(request_context& ctx);
http_response handle_teams_get(request_context& ctx);
http_response handle_teams_update(request_context& ctx);
http_response handle_teams_delete(request_context& ctx);

// Apps (app_handlers.cpp).
http_response handle_apps_create(request_context& ctx);
http_response handle_apps_list(request_context& ctx);
http_response handle_apps_get(request_context& ctx);
http_response handle_apps_update(request_context& ctx);
http_response handle_apps_delete(request_context& ctx);
http_response handle_apps_info(request_context& ctx);

// Model aliases of the org (alias_handlers.cpp).
http_response handle_aliases_get(request_context& ctx);
http_response handle_aliases_put(request_context& ctx);

/// Reads one level's aliases from `value` (a JSON object): 400
/// `invalid_request` naming `field` when malformed. Answers them as stored
/// (a JSON object as text).
std::string stored_aliases(const nlohmann::json& value,
                           std::string_view field);

// The response cache (cache_handlers.cpp).
http_response handle_cache_delete(request_context& ctx);

// Guardrail rules of the org (guardrail_handlers.cpp).
http_response handle_guardrails_get(request_context& ctx);
http_response handle_guardrails_put(request_context& ctx);

// Webhooks of the org (webhook_handlers.cpp).
http_response handle_webhooks_create(request_context& ctx);
http_response handle_webhooks_list(request_context& ctx);
http_response handle_webhooks_delete(request_context& ctx);
http_response handle_webhooks_deliveries(request_context& ctx);
http_response handle_webhooks_test(request_context& ctx);

/// Queues a webhook event (when the org has a webhook) and wakes the
/// delivery thread; a failure to queue it hands it to that thread.
void raise_webhook_event(request_context& ctx, actors::webhook_event ev);

// Audit and metrics (audit_handlers.cpp, metrics_handlers.cpp).
http_response handle_audit(request_context& ctx);
http_response handle_org_metrics(request_context& ctx);
http_response handle_node_metrics(request_context& ctx);

// Operator (admin_handlers.cpp).
http_response handle_admin_orgs(request_context& ctx);
http_response handle_admin_set_plan(request_context& ctx);
http_response handle_admin_cluster(request_context& ctx);

} // namespace gatehouse::http
