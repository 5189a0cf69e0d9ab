#pragma once

// How the messages of org actors cross the wire: an `inspect` overload for
// every type they carry, found by argument-dependent lookup (so each sits
// in its type's namespace), and the registration every node runs. The
// HTTP layer does not include this header: it needs CAF.

#include <optional>
#include <type_traits>
#include <utility>

#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/messages.hpp"
#include "policy/errc.hpp"
#include "storage/records.hpp"

namespace gatehouse::actors::wire {

/// A std::optional seen by an inspector: a presence flag, then the value.
/// CAF 0.17 inspects only its own `caf::optional`.
template <class T>
struct opt_ref {
  std::optional<T>& x;
};

/// Saves (or prints) an optional.
template <class Inspector, class T>
typename std::enable_if<Inspector::reads_state,
                        typename Inspector::result_type>::type
inspect(Inspector& f, opt_ref<T>& o) {
  bool present = o.x.has_value();
  if (present)
    return f(present, *o.x);
  return f(present);
}

/// Loads an optional.
template <class Inspector, class T>
typename std::enable_if<Inspector::writes_state,
                        typename Inspector::result_type>::type
inspect(Inspector& f, opt_ref<T>& o) {
  bool present = false;
  if (auto err = f(present))
    return err;
  if (!present) {
    o.x.reset();
    return caf::none;
  }
  T value{};
  if (auto err = f(value))
    return err;
  o.x = std::move(value);
  return caf::none;
}

/// Wraps optionals for inspection; passes everything else through.
template <class T>
T& field(T& x) {
  return x;
}

template <class T>
opt_ref<T> field(std::optional<T>& x) {
  return {x};
}

/// Applies `f` to the type's name and every field, optionals wrapped.
template <class Inspector, class... Ts>
typename Inspector::result_type fields(Inspector& f, const char* name,
                                       Ts&... xs) {
  return f(caf::meta::type_name(name), field(xs)...);
}

} // namespace gatehouse::actors::wire

namespace gatehouse::policy {

/// The refusal of a request. An unknown code read from the wire becomes
/// `internal_error`.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, problem& x) {
  auto check = caf::meta::load_callback([&]() -> caf::error {
    if (x.code < errc::invalid_request || x.code > errc::internal_error)
      x.code = errc::internal_error;
    return caf::none;
  });
  return actors::wire::fields(f, "problem", x.code, x.message,
                              x.retry_after_s, check);
}

} // namespace gatehouse::policy

namespace gatehouse::storage {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, org_record& x) {
  return actors::wire::fields(f, "org_record", x.id, x.slug, x.name, x.plan,
                              x.settings_json, x.created_at,
                              x.guardrails_json, x.aliases_json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_key_record& x) {
  return actors::wire::fields(
    f, "api_key_record", x.id, x.org_id, x.user_id, x.name, x.key_hash,
    x.key_prefix, x.previous_key_hash, x.previous_valid_until, x.scopes,
    x.app_id, x.team_id, x.rate_limit_rpm, x.status, x.created_at,
    x.expires_at, x.revoked_at, x.last_used_at, x.request_count,
    x.guardrails_json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, provider_record& x) {
  return actors::wire::fields(f, "provider_record", x.id, x.org_id, x.name,
                              x.base_url, x.auth_mode, x.api_key_encrypted,
                              x.api_key_last4, x.auth_header, x.auth_scheme,
                              x.fallback, x.is_default, x.created_at,
                              x.updated_at, x.format);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, price_override& x) {
  return actors::wire::fields(f, "price_override", x.model,
                              x.input_micros_per_mtok,
                              x.output_micros_per_mtok);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_record& x) {
  return actors::wire::fields(f, "team_record", x.id, x.org_id, x.name,
                              x.description, x.monthly_spend_limit_micros,
                              x.created_at);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, app_record& x) {
  return actors::wire::fields(f, "app_record", x.id, x.org_id, x.name, x.slug,
                              x.description, x.project_type, x.env,
                              x.is_active, x.metadata_json, x.created_at,
                              x.guardrails_json, x.aliases_json,
                              x.cache_json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_log_record& x) {
  return actors::wire::fields(
    f, "request_log_record", x.id, x.org_id, x.request_id, x.key_id,
    x.key_prefix, x.app_id, x.team_id, x.user_id, x.provider, x.model,
    x.method, x.path, x.status, x.error_code, x.tokens_in, x.tokens_out,
    x.cost_micros, x.usage_estimated, x.unpriced, x.latency_ms, x.ttft_ms,
    x.stream, x.session_id, x.end_user, x.metadata_json, x.env,
    x.request_body, x.response_body, x.created_at, x.guardrails_json,
    x.requested_model, x.cache, x.translated);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, usage_delta& x) {
  return actors::wire::fields(f, "usage_delta", x.org_id, x.scope_type,
                              x.scope_id, x.month, x.requests, x.tokens_in,
                              x.tokens_out, x.cost_micros);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_use& x) {
  return actors::wire::fields(f, "key_use", x.key_id, x.org_id,
                              x.last_used_at, x.requests);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, log_write& x) {
  return actors::wire::fields(f, "log_write", x.log, x.deltas, x.key);
}

} // namespace gatehouse::storage

namespace gatehouse::actors {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, audit_ctx& x) {
  return wire::fields(f, "audit_ctx", x.actor_type, x.actor_id, x.ip, x.now_s,
                      x.now_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, key_verdict& x) {
  return wire::fields(f, "key_verdict", x.valid, x.code, x.reason, x.org_id,
                      x.key_id, x.scopes, x.app_id, x.team_id,
                      x.rate_limit_rpm);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, org_update& x) {
  return wire::fields(f, "org_update", x.name, x.settings_json,
                      x.guardrails_json, x.aliases_json);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, limit_decision& x) {
  return wire::fields(f, "limit_decision", x.allowed, x.retry_after_s);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proxy_request& x) {
  return wire::fields(f, "proxy_request", x.key_hash, x.path,
                      x.provider_header, x.model, x.stream,
                      x.client_wants_usage, x.prompt_chars, x.max_tokens,
                      x.cache, x.cache_ttl_s, x.cache_missed, x.now_s,
                      x.now_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, upstream_target& x) {
  return wire::fields(f, "upstream_target", x.provider, x.scheme, x.host,
                      x.port, x.base_path, x.passthrough, x.auth_header,
                      x.auth_value, x.anthropic);
}

/// A grant without its ledger and compiled guardrails: both are this
/// node's memory and a grant read from the wire has neither (it settles
/// without a ledger; authorization never leaves the node that relays).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, grant& x) {
  return wire::fields(f, "grant", x.org_id, x.key_id, x.key_prefix, x.app_id,
                      x.team_id, x.user_id, x.targets, x.scopes, x.model,
                      x.rewrite_model, x.requested_model, x.inject_usage,
                      x.log_bodies, x.env, x.reserved_micros, x.cache_asked,
                      x.cache_ttl_s);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, authorization& x) {
  return wire::fields(f, "authorization", x.ok, x.denial, x.permit,
                      x.deferred);
}

/// A settlement without its ledger, as a grant (see above).
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, settlement& x) {
  return wire::fields(f, "settlement", x.log, x.reserved_micros);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, team_usage& x) {
  return wire::fields(f, "team_usage", x.team_id, x.spent_micros, x.requests,
                      x.in_flight_micros);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_ask& x) {
  return wire::fields(f, "lease_ask", x.org_id, x.team_id, x.month, x.node_id,
                      x.need, x.want, x.seq, x.rate);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_grant& x) {
  return wire::fields(f, "lease_grant", x.team_id, x.month, x.node_id,
                      x.amount, x.seq, x.not_home, x.rate, x.retry_after_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_return& x) {
  return wire::fields(f, "lease_return", x.team_id, x.month, x.node_id,
                      x.amount, x.closing);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_collected& x) {
  return wire::fields(f, "lease_collected", x.month, x.node_id, x.team_ids,
                      x.in_flight);
}

/// Makes every message type of the block `gatehouse` (actors/fwd.hpp) known
/// to an actor system. Every node must run it on its configuration before
/// the system starts: a message of a type the receiving node does not know
/// arrives empty, and CAF only prints the loss to stderr.
void register_message_types(caf::actor_system_config& cfg);

} // namespace gatehouse::actors
