#define CAF_SUITE wire

#include "actors/wire.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/test/dsl.hpp>

#include "actors/fwd.hpp"
#include "actors/ledger.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

// Field-by-field equality, written apart from the inspect overloads so
// that a field they forget fails here.
namespace gatehouse::policy {
bool operator==(const problem& a, const problem& b) {
  return std::tie(a.code, a.message, a.retry_after_s)
         == std::tie(b.code, b.message, b.retry_after_s);
}
} // namespace gatehouse::policy

namespace gatehouse::storage {
bool operator==(const org_record& a, const org_record& b) {
  return std::tie(a.id, a.slug, a.name, a.plan, a.settings_json, a.created_at,
                  a.guardrails_json, a.aliases_json)
         == std::tie(b.id, b.slug, b.name, b.plan, b.settings_json,
                     b.created_at, b.guardrails_json, b.aliases_json);
}
bool operator==(const api_key_record& a, const api_key_record& b) {
  return std::tie(a.id, a.org_id, a.user_id, a.name, a.key_hash, a.key_prefix,
                  a.previous_key_hash, a.previous_valid_until, a.scopes,
                  a.app_id, a.team_id, a.rate_limit_rpm, a.status,
                  a.created_at, a.expires_at, a.revoked_at, a.last_used_at,
                  a.request_count, a.guardrails_json)
         == std::tie(b.id, b.org_id, b.user_id, b.name, b.key_hash,
                     b.key_prefix, b.previous_key_hash, b.previous_valid_until,
                     b.scopes, b.app_id, b.team_id, b.rate_limit_rpm, b.status,
                     b.created_at, b.expires_at, b.revoked_at, b.last_used_at,
                     b.request_count, b.guardrails_json);
}
bool operator==(const provider_record& a, const provider_record& b) {
  return std::tie(a.id, a.org_id, a.name, a.base_url, a.auth_mode,
                  a.api_key_encrypted, a.api_key_last4, a.auth_header,
                  a.auth_scheme, a.fallback, a.is_default, a.created_at,
                  a.updated_at, a.format)
         == std::tie(b.id, b.org_id, b.name, b.base_url, b.auth_mode,
                     b.api_key_encrypted, b.api_key_last4, b.auth_header,
                     b.auth_scheme, b.fallback, b.is_default, b.created_at,
                     b.updated_at, b.format);
}
bool operator==(const price_override& a, const price_override& b) {
  return std::tie(a.model, a.input_micros_per_mtok, a.output_micros_per_mtok)
         == std::tie(b.model, b.input_micros_per_mtok,
                     b.output_micros_per_mtok);
}
bool operator==(const team_record& a, const team_record& b) {
  return std::tie(a.id, a.org_id, a.name, a.description,
                  a.monthly_spend_limit_micros, a.created_at)
         == std::tie(b.id, b.org_id, b.name, b.description,
                     b.monthly_spend_limit_micros, b.created_at);
}
bool operator==(const app_record& a, const app_record& b) {
  return std::tie(a.id, a.org_id, a.name, a.slug, a.description,
                  a.project_type, a.env, a.is_active, a.metadata_json,
                  a.created_at, a.guardrails_json, a.aliases_json,
                  a.cache_json)
         == std::tie(b.id, b.org_id, b.name, b.slug, b.description,
                     b.project_type, b.env, b.is_active, b.metadata_json,
                     b.created_at, b.guardrails_json, b.aliases_json,
                     b.cache_json);
}
bool operator==(const request_log_record& a, const request_log_record& b) {
  return std::tie(a.id, a.org_id, a.request_id, a.key_id, a.key_prefix,
                  a.app_id, a.team_id, a.user_id, a.provider, a.model,
                  a.method, a.path, a.status, a.error_code, a.tokens_in,
                  a.tokens_out, a.cost_micros, a.usage_estimated, a.unpriced,
                  a.latency_ms, a.ttft_ms, a.stream, a.session_id, a.end_user,
                  a.metadata_json, a.env, a.request_body, a.response_body,
                  a.created_at, a.guardrails_json, a.translated,
                  a.requested_model, a.cache)
         == std::tie(b.id, b.org_id, b.request_id, b.key_id, b.key_prefix,
                     b.app_id, b.team_id, b.user_id, b.provider, b.model,
                     b.method, b.path, b.status, b.error_code, b.tokens_in,
                     b.tokens_out, b.cost_micros, b.usage_estimated,
                     b.unpriced, b.latency_ms, b.ttft_ms, b.stream,
                     b.session_id, b.end_user, b.metadata_json, b.env,
                     b.request_body, b.response_body, b.created_at,
                     b.guardrails_json, b.translated, b.requested_model,
                     b.cache);
}
bool operator==(const usage_delta& a, const usage_delta& b) {
  return std::tie(a.org_id, a.scope_type, a.scope_id, a.month, a.requests,
                  a.tokens_in, a.tokens_out, a.cost_micros)
         == std::tie(b.org_id, b.scope_type, b.scope_id, b.month, b.requests,
                     b.tokens_in, b.tokens_out, b.cost_micros);
}
bool operator==(const key_use& a, const key_use& b) {
  return std::tie(a.key_id, a.org_id, a.last_used_at, a.requests)
         == std::tie(b.key_id, b.org_id, b.last_used_at, b.requests);
}
bool operator==(const log_write& a, const log_write& b) {
  return std::tie(a.log, a.deltas, a.key) == std::tie(b.log, b.deltas, b.key);
}
} // namespace gatehouse::storage

namespace gatehouse::actors {
bool operator==(const audit_ctx& a, const audit_ctx& b) {
  return std::tie(a.actor_type, a.actor_id, a.ip, a.now_s, a.now_ms)
         == std::tie(b.actor_type, b.actor_id, b.ip, b.now_s, b.now_ms);
}
bool operator==(const key_verdict& a, const key_verdict& b) {
  return std::tie(a.valid, a.code, a.reason, a.org_id, a.key_id, a.scopes,
                  a.app_id, a.team_id, a.rate_limit_rpm)
         == std::tie(b.valid, b.code, b.reason, b.org_id, b.key_id, b.scopes,
                     b.app_id, b.team_id, b.rate_limit_rpm);
}
bool operator==(const org_update& a, const org_update& b) {
  return std::tie(a.name, a.settings_json, a.guardrails_json, a.aliases_json)
         == std::tie(b.name, b.settings_json, b.guardrails_json,
                     b.aliases_json);
}
bool operator==(const limit_decision& a, const limit_decision& b) {
  return std::tie(a.allowed, a.retry_after_s)
         == std::tie(b.allowed, b.retry_after_s);
}
bool operator==(const proxy_request& a, const proxy_request& b) {
  return std::tie(a.key_hash, a.path, a.provider_header, a.model, a.stream,
                  a.client_wants_usage, a.prompt_chars, a.max_tokens,
                  a.cache, a.cache_ttl_s, a.cache_missed, a.now_s, a.now_ms)
         == std::tie(b.key_hash, b.path, b.provider_header, b.model, b.stream,
                     b.client_wants_usage, b.prompt_chars, b.max_tokens,
                     b.cache, b.cache_ttl_s, b.cache_missed, b.now_s,
                     b.now_ms);
}
bool operator==(const upstream_target& a, const upstream_target& b) {
  return std::tie(a.provider, a.scheme, a.host, a.port, a.base_path,
                  a.passthrough, a.auth_header, a.auth_value, a.anthropic)
         == std::tie(b.provider, b.scheme, b.host, b.port, b.base_path,
                     b.passthrough, b.auth_header, b.auth_value,
                     b.anthropic);
}
/// The ledger is node-local and does not travel.
bool operator==(const grant& a, const grant& b) {
  return std::tie(a.org_id, a.key_id, a.key_prefix, a.app_id, a.team_id,
                  a.user_id, a.targets, a.scopes, a.model, a.rewrite_model,
                  a.requested_model, a.inject_usage, a.log_bodies, a.env,
                  a.reserved_micros, a.cache_asked, a.cache_ttl_s)
         == std::tie(b.org_id, b.key_id, b.key_prefix, b.app_id, b.team_id,
                     b.user_id, b.targets, b.scopes, b.model, b.rewrite_model,
                     b.requested_model, b.inject_usage, b.log_bodies, b.env,
                     b.reserved_micros, b.cache_asked, b.cache_ttl_s);
}
bool operator==(const authorization& a, const authorization& b) {
  return std::tie(a.ok, a.denial, a.permit, a.deferred)
         == std::tie(b.ok, b.denial, b.permit, b.deferred);
}
bool operator==(const lease_ask& a, const lease_ask& b) {
  return std::tie(a.org_id, a.team_id, a.month, a.node_id, a.need, a.want,
                  a.seq, a.rate)
         == std::tie(b.org_id, b.team_id, b.month, b.node_id, b.need, b.want,
                     b.seq, b.rate);
}
bool operator==(const lease_grant& a, const lease_grant& b) {
  return std::tie(a.team_id, a.month, a.node_id, a.amount, a.seq, a.not_home,
                  a.rate, a.retry_after_ms)
         == std::tie(b.team_id, b.month, b.node_id, b.amount, b.seq,
                     b.not_home, b.rate, b.retry_after_ms);
}
bool operator==(const lease_return& a, const lease_return& b) {
  return std::tie(a.team_id, a.month, a.node_id, a.amount, a.closing)
         == std::tie(b.team_id, b.month, b.node_id, b.amount, b.closing);
}
bool operator==(const lease_collected& a, const lease_collected& b) {
  return std::tie(a.month, a.node_id, a.team_ids, a.in_flight)
         == std::tie(b.month, b.node_id, b.team_ids, b.in_flight);
}
bool operator==(const settlement& a, const settlement& b) {
  return std::tie(a.log, a.reserved_micros)
         == std::tie(b.log, b.reserved_micros);
}
bool operator==(const team_usage& a, const team_usage& b) {
  return std::tie(a.team_id, a.spent_micros, a.requests, a.in_flight_micros)
         == std::tie(b.team_id, b.spent_micros, b.requests,
                     b.in_flight_micros);
}
} // namespace gatehouse::actors

namespace {

constexpr auto max64 = std::numeric_limits<std::int64_t>::max();
constexpr auto min64 = std::numeric_limits<std::int64_t>::min();
const std::string utf8 = "Zürich · 東京 · \xF0\x9F\x9A\x80 \"q\" \\ \n\t";
const std::string nul = std::string("a\0b", 3);

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  fixture() {
    register_message_types(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  /// Writes `x` with CAF's binary serializer and reads it back.
  template <class T>
  T round_trip(const T& x) {
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    auto copy = x;
    if (auto err = sink(copy))
      CAF_FAIL("cannot serialize: " << sys->render(err));
    T y;
    caf::binary_deserializer source{*sys, buf};
    if (auto err = source(y))
      CAF_FAIL("cannot deserialize: " << sys->render(err));
    CAF_CHECK_EQUAL(source.remaining(), 0u);
    return y;
  }

  /// Sends `x` through a serialized message, as a remote node would
  /// receive it: this needs the type registered under its name.
  template <class T>
  T through_message(const T& x) {
    auto msg = caf::make_message(x);
    std::vector<char> buf;
    caf::binary_serializer sink{*sys, buf};
    if (auto err = sink(msg))
      CAF_FAIL("cannot serialize the message: " << sys->render(err));
    caf::message out;
    caf::binary_deserializer source{*sys, buf};
    if (auto err = source(out))
      CAF_FAIL("cannot deserialize the message: " << sys->render(err));
    if (!out.match_elements<T>())
      CAF_FAIL("the message arrived as " << to_string(out));
    return out.get_as<T>(0);
  }

  /// Both round trips, each compared field by field.
  template <class T>
  void check(const T& x) {
    CAF_CHECK(round_trip(x) == x);
    CAF_CHECK(through_message(x) == x);
  }

  /// One round trip, for types that travel only inside others.
  template <class T>
  void check_nested(const T& x) {
    CAF_CHECK(round_trip(x) == x);
  }
};

storage::request_log_record full_log() {
  storage::request_log_record r;
  r.id = "log-1";
  r.org_id = "org-1";
  r.request_id = utf8;
  r.key_id = "key-1";
  r.key_prefix = "";
  r.app_id = "app-1";
  r.team_id = "team-1";
  r.user_id = "user-1";
  r.provider = "openai";
  r.model = "gpt-4o-mini";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.status = -1;
  r.error_code = "upstream_error";
  r.tokens_in = max64;
  r.tokens_out = min64;
  r.cost_micros = -5;
  r.usage_estimated = true;
  r.unpriced = true;
  r.latency_ms = 0;
  r.ttft_ms = max64;
  r.stream = true;
  r.session_id = nul;
  r.end_user = utf8;
  r.metadata_json = R"({"a":"ü"})";
  r.env = "prod";
  r.request_body = std::string(70'000, 'x');
  r.response_body = "";
  r.created_at = "2026-12-05T05:00:00.042Z";
  r.guardrails_json = R"([{"rule":"pii","action":"redact","count":2}])";
  r.translated = "openai->anthropic";
  r.requested_model = "fast";
  r.cache = "hit";
  return r;
}

storage::api_key_record full_key() {
  storage::api_key_record k;
  k.id = "key-1";
  k.org_id = "org-1";
  k.user_id = "user-1";
  k.name = utf8;
  k.key_hash = std::string(64, 'a');
  k.key_prefix = "gh_live_abcd";
  k.previous_key_hash = std::string(64, 'b');
  k.previous_valid_until = min64;
  k.scopes = {"provider:openai", "", utf8};
  k.app_id = "app-1";
  k.team_id = "";
  k.rate_limit_rpm = std::numeric_limits<int>::max();
  k.status = "revoked";
  k.created_at = "2026-12-05T05:00:00Z";
  k.expires_at = "2027-01-01T00:00:00Z";
  k.revoked_at = "2026-12-05T06:00:00Z";
  k.last_used_at = "2026-12-05T05:30:00Z";
  k.request_count = max64;
  k.guardrails_json = R"([{"name":"t","detector":"terms","terms":["ü"]}])";
  return k;
}

upstream_target full_target() {
  upstream_target t;
  t.provider = "openai";
  t.scheme = "https";
  t.host = "api.example.com";
  t.port = 65535;
  t.base_path = "/v1";
  t.passthrough = true;
  t.auth_header = "Authorization";
  t.auth_value = "Bearer " + utf8;
  t.anthropic = true;
  return t;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(wire_tests, fixture)

CAF_TEST(every registered type is known by its name) {
  for (auto name :
       {"gatehouse::actors::audit_ctx", "gatehouse::actors::key_verdict",
        "gatehouse::actors::org_update", "gatehouse::actors::proxy_request",
        "gatehouse::actors::authorization", "gatehouse::actors::settlement",
        "std::vector<gatehouse::actors::team_usage>",
        "gatehouse::storage::api_key_record",
        "gatehouse::storage::org_record",
        "gatehouse::storage::provider_record",
        "gatehouse::storage::team_record", "gatehouse::storage::app_record",
        "std::vector<gatehouse::storage::price_override>",
        "gatehouse::storage::log_write",
        "gatehouse::actors::limit_decision", "gatehouse::actors::lease_ask",
        "gatehouse::actors::lease_grant", "gatehouse::actors::lease_return",
        "gatehouse::actors::lease_collected"}) {
    CAF_MESSAGE(name);
    CAF_CHECK(sys->types().make_value(name) != nullptr);
  }
  CAF_CHECK_EQUAL(caf::id_block::gatehouse::end
                    - caf::id_block::gatehouse::begin,
                  19);
}

CAF_TEST(an unregistered system cannot read the messages) {
  // What a node without register_message_types would get.
  caf::actor_system_config plain_cfg;
  caf::actor_system plain{plain_cfg};
  CAF_CHECK(plain.types().make_value("gatehouse::actors::audit_ctx")
            == nullptr);
}

CAF_TEST(audit contexts) {
  check(audit_ctx{});
  check(audit_ctx{"user", utf8, "::1", min64, max64});
  check(audit_ctx{"", "", "", -1, 0});
}

CAF_TEST(key verdicts) {
  check(key_verdict{});
  key_verdict v;
  v.valid = true;
  v.code = policy::errc::budget_exceeded;
  v.reason = utf8;
  v.org_id = "org-1";
  v.key_id = "key-1";
  v.scopes = {"*", ""};
  v.app_id = "";
  v.team_id = "team-1";
  v.rate_limit_rpm = std::numeric_limits<int>::min();
  check(v);
}

CAF_TEST(org updates) {
  check(org_update{});
  check(org_update{std::string{}, std::nullopt});
  check(org_update{std::nullopt, std::string{R"({"log_bodies":true})"}});
  check(org_update{utf8, std::string{"{}"}});
  check(org_update{std::nullopt, std::nullopt, std::string{"[]"}});
  check(org_update{std::nullopt, std::nullopt, std::nullopt,
                   std::string{R"({"fast":"openai/gpt-4o-mini"})"}});
}

CAF_TEST(limit decisions) {
  check(limit_decision{});
  check(limit_decision{false, max64});
  check(limit_decision{true, min64});
}

CAF_TEST(proxy requests) {
  check(proxy_request{});
  proxy_request r;
  r.key_hash = std::string(64, 'f');
  r.path = "/v1/messages";
  r.provider_header = "";
  r.model = utf8;
  r.stream = true;
  r.client_wants_usage = true;
  r.prompt_chars = max64;
  r.max_tokens = min64;
  r.cache = 2;
  r.cache_ttl_s = 604'800;
  r.cache_missed = true;
  r.now_s = -1;
  r.now_ms = max64;
  check(r);
}

CAF_TEST(authorizations and their grants) {
  check(authorization{});
  authorization denied;
  denied.denial = policy::problem{policy::errc::rate_limited, utf8, max64};
  check(denied);
  denied.deferred = true;
  check(denied);
  authorization a;
  a.ok = true;
  a.denial = policy::problem{policy::errc::internal_error, "", std::nullopt};
  auto& g = a.permit;
  g.org_id = "org-1";
  g.key_id = "key-1";
  g.key_prefix = "gh_live_abcd";
  g.app_id = "app-1";
  g.team_id = std::nullopt;
  g.user_id = "";
  g.targets = {full_target(), upstream_target{}};
  g.scopes = {"model:gpt-4o", utf8};
  g.model = "gpt-4o";
  g.rewrite_model = true;
  g.requested_model = utf8;
  g.cache_asked = true;
  g.cache_ttl_s = 86'400;
  g.inject_usage = true;
  g.log_bodies = true;
  g.env = "staging";
  g.reserved_micros = max64;
  check(a);
  // The ledger is this node's memory: it does not travel.
  g.ledger = std::make_shared<team_ledger>("2026-12", 100);
  CAF_CHECK(round_trip(a).permit.ledger == nullptr);
  check_nested(full_target());
  check_nested(upstream_target{});
}

CAF_TEST(an unknown error code reads as an internal error) {
  policy::problem p{static_cast<policy::errc>(9999), "x", std::nullopt};
  auto q = round_trip(p);
  CAF_CHECK(q.code == policy::errc::internal_error);
  CAF_CHECK_EQUAL(q.message, "x");
}

CAF_TEST(settlements) {
  check(settlement{});
  settlement s;
  s.log = full_log();
  s.reserved_micros = min64;
  s.ledger = std::make_shared<team_ledger>("2026-12", 100);
  check(s);
  CAF_CHECK(round_trip(s).ledger == nullptr);
}

CAF_TEST(lease messages) {
  check(lease_ask{});
  check(lease_ask{utf8, utf8, "2026-12", "gh-a", max64, min64,
                  ~std::uint64_t{0}, true});
  check(lease_grant{});
  check(lease_grant{utf8, "2026-12", "gh-b", max64, 7, true, true, min64});
  check(lease_return{});
  check(lease_return{utf8, "2026-12", "gh-c", min64, true});
  check(lease_collected{});
  check(lease_collected{"2026-12", "gh-a", {utf8, "", "t"}, {max64, 0, -1}});
}

CAF_TEST(team usage lists) {
  check(std::vector<team_usage>{});
  check(std::vector<team_usage>{team_usage{},
                                team_usage{utf8, max64, min64, -1}});
}

CAF_TEST(key records) {
  check(storage::api_key_record{});
  check(full_key());
  auto bare = full_key();
  bare.previous_key_hash.reset();
  bare.previous_valid_until.reset();
  bare.scopes.clear();
  bare.app_id.reset();
  bare.team_id.reset();
  bare.rate_limit_rpm.reset();
  bare.expires_at.reset();
  bare.revoked_at.reset();
  bare.last_used_at.reset();
  bare.request_count = min64;
  check(bare);
}

CAF_TEST(org records) {
  check(storage::org_record{});
  check(storage::org_record{"org-1", "acme", utf8, "enterprise",
                            R"({"log_bodies":true})", "2026-12-05T05:00:00Z"});
  check(storage::org_record{"", "", "", "", "", ""});
  check(storage::org_record{"org-1", "acme", "Acme", "enterprise", "{}",
                            "2026-12-05T05:00:00Z",
                            R"([{"name":"s","detector":"secret"}])"});
  check(storage::org_record{"", "", "", "", "", "", ""});
  check(storage::org_record{"org-1", "acme", "Acme", "free", "{}",
                            "2026-12-05T05:00:00Z", "[]",
                            R"({"fast":"openai/gpt-4o-mini"})"});
}

CAF_TEST(provider records) {
  check(storage::provider_record{});
  storage::provider_record p;
  p.id = "prov-1";
  p.org_id = "org-1";
  p.name = utf8;
  p.base_url = "https://api.example.com/v1";
  p.auth_mode = "passthrough";
  p.api_key_encrypted = std::string(200, 'e');
  p.api_key_last4 = "";
  p.auth_header = "x-api-key";
  p.auth_scheme = "";
  p.fallback = {"anthropic", "", utf8};
  p.is_default = true;
  p.created_at = "2026-12-05T05:00:00Z";
  p.updated_at = "";
  p.format = "anthropic";
  check(p);
}

CAF_TEST(team records) {
  check(storage::team_record{});
  check(storage::team_record{"team-1", "org-1", utf8, "", max64, "t"});
  check(storage::team_record{"team-2", "org-1", "", utf8, min64, ""});
  check(storage::team_record{"team-3", "", "x", "y", 0, ""});
}

CAF_TEST(app records) {
  check(storage::app_record{});
  storage::app_record a;
  a.id = "app-1";
  a.org_id = "org-1";
  a.name = utf8;
  a.slug = "my-app";
  a.description = "";
  a.project_type = "mcp_gateway";
  a.env = "prod";
  a.is_active = false;
  a.metadata_json = R"({"k":[1,2]})";
  a.created_at = "2026-12-05T05:00:00Z";
  a.guardrails_json = R"([{"name":"e","detector":"email","action":"flag"}])";
  a.aliases_json = R"({"fast":"gpt-4o-mini"})";
  a.cache_json = R"({"enabled":true,"ttl_seconds":60})";
  check(a);
}

CAF_TEST(price override lists) {
  check(std::vector<storage::price_override>{});
  check(std::vector<storage::price_override>{
    {"gpt-4o", 2'500'000, 10'000'000}, {"", max64, min64}, {utf8, 0, -1}});
}

CAF_TEST(log writes) {
  check(storage::log_write{});
  storage::log_write w;
  w.log = full_log();
  w.deltas = {storage::usage_delta{"org-1", "team", "team-1", "2026-12", 1,
                                   max64, min64, -3},
              storage::usage_delta{}};
  w.key = storage::key_use{"key-1", "org-1", utf8, max64};
  check(w);
  w.key.reset();
  w.deltas.clear();
  check(w);
  check_nested(storage::request_log_record{});
}

CAF_TEST_FIXTURE_SCOPE_END()
