#define CAF_SUITE org_commands

#include "actors/org_commands.hpp"

#include <string>

#include <caf/test/dsl.hpp>

#include "policy/crypto.hpp"
#include "storage/secrets.hpp"

using namespace gatehouse;
using namespace gatehouse::actors;

namespace {

constexpr long long now_s = 1'764'900'000; // 2025-12-05

storage::api_key_record key(std::string id, std::string status = "active") {
  storage::api_key_record k;
  k.id = id;
  k.org_id = "org-1";
  k.user_id = "user-1";
  k.key_hash = "hash-" + id;
  k.key_prefix = "gh_" + id;
  k.status = std::move(status);
  return k;
}

storage::provider_record provider(std::string name) {
  storage::provider_record p;
  p.id = "prov-" + name;
  p.org_id = "org-1";
  p.name = std::move(name);
  p.base_url = "https://api.example.com/v1";
  p.auth_mode = "passthrough";
  return p;
}

struct fixture {
  org_view st;
  std::map<std::string, storage::app_record> app_recs;
  audit_ctx who{"user", "user-1", "127.0.0.1", now_s, now_s * 1000};
  storage::secrets secrets{policy::random_bytes(32), "jwt"};

  fixture() {
    st.org.id = "org-1";
    st.org.plan = "free";
    st.org.name = "Acme";
    add_key(key("k1"));
    add_provider(provider("openai"), true);
  }

  void add_key(storage::api_key_record k) {
    st.ids[k.key_hash] = k.id;
    auto id = k.id;
    st.keys[id] = key_entry{std::move(k), std::nullopt};
  }

  void add_provider(storage::provider_record p, bool is_default = false) {
    p.is_default = is_default;
    auto name = p.name;
    st.providers[name] = provider_entry{std::move(p), upstream_target{}};
  }

  template <class Outcome>
  void expect_refusal(const Outcome& out, policy::errc code,
                      const std::string& message) {
    CAF_REQUIRE(!out);
    CAF_CHECK(out.error().code == code);
    CAF_CHECK_EQUAL(out.error().message, message);
  }

  template <class W, class Outcome>
  const W& expect_write(const Outcome& out, const char* action) {
    CAF_REQUIRE(out);
    CAF_REQUIRE(out->write);
    CAF_CHECK_EQUAL(out->audit.action, action);
    CAF_CHECK_EQUAL(out->audit.org_id, "org-1");
    CAF_CHECK_EQUAL(out->audit.actor_id, "user-1");
    CAF_CHECK_EQUAL(out->audit.ip, "127.0.0.1");
    CAF_CHECK_EQUAL(out->audit.created_at, "2025-12-05T02:00:00.000Z");
    CAF_REQUIRE(std::holds_alternative<W>(*out->write));
    return std::get<W>(*out->write);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(org_command_tests, fixture)

CAF_TEST(create key - accepted with the orgs id) {
  auto k = key("k2");
  k.org_id = "elsewhere";
  auto out = decide(st, cmd::create_key{k}, who);
  auto& w = expect_write<write::insert_key>(out, "key.create");
  CAF_CHECK_EQUAL(w.rec.org_id, "org-1");
  CAF_CHECK_EQUAL(out->change.rec.id, "k2");
  CAF_CHECK(!out->change.revoked);
  CAF_CHECK(!out->audit.before_json);
  CAF_CHECK(out->audit.after_json);
}

CAF_TEST(create key - refused beyond the plans active keys) {
  for (int i = 2; i <= 5; ++i)
    add_key(key("k" + std::to_string(i)));
  // Revoked keys do not count.
  add_key(key("old", "revoked"));
  expect_refusal(decide(st, cmd::create_key{key("k6")}, who),
                 policy::errc::limit_exceeded,
                 "the free plan allows 5 active API keys");
  st.org.plan = "enterprise";
  CAF_CHECK(decide(st, cmd::create_key{key("k6")}, who));
}

CAF_TEST(revoke key - accepted already revoked unknown) {
  auto out = decide(st, cmd::revoke_key{"k1"}, who);
  auto& w = expect_write<write::revoke_key>(out, "key.revoke");
  CAF_CHECK_EQUAL(w.id, "k1");
  CAF_CHECK_EQUAL(w.now, "2025-12-05T02:00:00Z");
  CAF_CHECK(out->change.revoked);
  CAF_CHECK_EQUAL(out->change.rec.status, "revoked");
  add_key(key("gone", "revoked"));
  auto again = decide(st, cmd::revoke_key{"gone"}, who);
  CAF_REQUIRE(again);
  CAF_CHECK(!again->write);
  CAF_CHECK_EQUAL(again->change.rec.id, "gone");
  expect_refusal(decide(st, cmd::revoke_key{"nope"}, who),
                 policy::errc::not_found, "no API key with id 'nope'");
}

CAF_TEST(rotate key - accepted refused when unknown or revoked) {
  auto k = key("k2");
  k.previous_key_hash = "older";
  add_key(k);
  auto out = decide(st, cmd::rotate_key{"k2", "new-hash", "gh_new", 24}, who);
  auto& w = expect_write<write::rotate_key>(out, "key.rotate");
  CAF_CHECK_EQUAL(w.rec.key_hash, "new-hash");
  CAF_CHECK_EQUAL(w.rec.key_prefix, "gh_new");
  CAF_CHECK_EQUAL(w.rec.previous_key_hash.value_or(""), "hash-k2");
  CAF_CHECK_EQUAL(w.rec.previous_valid_until.value_or(0), now_s + 24 * 3600);
  CAF_CHECK_EQUAL(out->change.dropped_hash.value_or(""), "older");
  add_key(key("gone", "revoked"));
  expect_refusal(decide(st, cmd::rotate_key{"gone", "h", "p", 1}, who),
                 policy::errc::not_found, "no API key with id 'gone'");
  expect_refusal(decide(st, cmd::rotate_key{"nope", "h", "p", 1}, who),
                 policy::errc::not_found, "no API key with id 'nope'");
}

CAF_TEST(set plan - accepted refused when unknown) {
  auto out = decide(st, cmd::set_plan{"enterprise"}, who);
  auto& w = expect_write<write::set_plan>(out, "org.plan");
  CAF_CHECK_EQUAL(w.plan, "enterprise");
  CAF_CHECK_EQUAL(out->change.org.plan, "enterprise");
  CAF_CHECK_EQUAL(out->change.org.name, "Acme");
  expect_refusal(decide(st, cmd::set_plan{"gold"}, who),
                 policy::errc::invalid_request,
                 "field 'plan': must be 'free' or 'enterprise'");
}

CAF_TEST(update org - changes only the given fields) {
  auto out = decide(st, cmd::update_org{org_update{"Acme 2", std::nullopt}},
                    who);
  auto& w = expect_write<write::update_org>(out, "org.update");
  CAF_CHECK_EQUAL(w.org.name, "Acme 2");
  CAF_CHECK_EQUAL(w.org.settings_json, "{}");
  auto s = decide(st, cmd::update_org{org_update{std::nullopt, "{\"a\":1}"}},
                  who);
  CAF_REQUIRE(s);
  CAF_CHECK_EQUAL(s->change.org.name, "Acme");
  CAF_CHECK_EQUAL(s->change.org.settings_json, "{\"a\":1}");
}

CAF_TEST(put provider - create and replace accepted) {
  auto out = decide(st, cmd::put_provider{provider("anthropic"), true}, who,
                    secrets);
  auto& w = expect_write<write::insert_provider>(out, "provider.create");
  CAF_CHECK(!w.rec.is_default);
  CAF_CHECK_EQUAL(out->change.target.host, "api.example.com");
  auto p = provider("openai");
  p.fallback = {};
  auto upd = decide(st, cmd::put_provider{p, false}, who, secrets);
  auto& u = expect_write<write::update_provider>(upd, "provider.update");
  CAF_CHECK(u.rec.is_default);
  CAF_CHECK(upd->audit.before_json);
  st.providers.clear();
  auto first = decide(st, cmd::put_provider{provider("a"), true}, who, secrets);
  CAF_REQUIRE(first);
  CAF_CHECK(first->change.rec.is_default);
}

CAF_TEST(put provider - every refusal) {
  expect_refusal(decide(st, cmd::put_provider{provider("openai"), true}, who,
                        secrets),
                 policy::errc::conflict,
                 "field 'name': a provider named 'openai' exists");
  expect_refusal(decide(st, cmd::put_provider{provider("x"), false}, who,
                        secrets),
                 policy::errc::not_found, "no provider named 'x'");
  auto p = provider("b");
  p.fallback = {"missing"};
  expect_refusal(decide(st, cmd::put_provider{p, true}, who, secrets),
                 policy::errc::invalid_request,
                 "field 'fallback': 'missing' is not another provider of "
                 "this organization");
  p.fallback = {"b"};
  expect_refusal(decide(st, cmd::put_provider{p, true}, who, secrets),
                 policy::errc::invalid_request,
                 "field 'fallback': 'b' is not another provider of "
                 "this organization");
  auto bad = provider("c");
  bad.base_url = "ftp://x";
  auto out = decide(st, cmd::put_provider{bad, true}, who, secrets);
  CAF_REQUIRE(!out);
  CAF_CHECK(out.error().code == policy::errc::invalid_request);
  add_provider(provider("p2"));
  add_provider(provider("p3"));
  expect_refusal(decide(st, cmd::put_provider{provider("p4"), true}, who,
                        secrets),
                 policy::errc::limit_exceeded,
                 "the free plan allows 3 providers");
}

CAF_TEST(delete provider and default provider) {
  auto out = decide(st, cmd::delete_provider{"openai"}, who);
  auto& w = expect_write<write::delete_provider>(out, "provider.delete");
  CAF_CHECK_EQUAL(w.name, "openai");
  CAF_CHECK(!out->audit.after_json);
  expect_refusal(decide(st, cmd::delete_provider{"x"}, who),
                 policy::errc::not_found, "no provider named 'x'");
  auto d = decide(st, cmd::default_provider{"openai"}, who);
  auto& dw = expect_write<write::set_default_provider>(d, "provider.default");
  CAF_CHECK_EQUAL(dw.name, "openai");
  CAF_CHECK_EQUAL(d->audit.target_id, "prov-openai");
  expect_refusal(decide(st, cmd::default_provider{"x"}, who),
                 policy::errc::not_found, "no provider named 'x'");
}

CAF_TEST(set pricing - audits before and after) {
  st.prices["old"] = policy::model_price{1'000'000, 2'000'000};
  auto out = decide(
    st, cmd::set_pricing{{storage::price_override{"new", 500'000, 0}}}, who);
  auto& w = expect_write<write::replace_prices>(out, "pricing.update");
  CAF_CHECK_EQUAL(w.prices.size(), 1u);
  CAF_CHECK_EQUAL(*out->audit.before_json,
                  R"({"models":{"old":{"input_per_mtok":1.0,)"
                  R"("output_per_mtok":2.0}}})");
  CAF_CHECK_EQUAL(*out->audit.after_json,
                  R"({"models":{"new":{"input_per_mtok":0.5,)"
                  R"("output_per_mtok":0.0}}})");
}

CAF_TEST(put and delete team) {
  storage::team_record t;
  t.id = "t1";
  t.name = "Core";
  t.monthly_spend_limit_micros = 5;
  auto out = decide(st, cmd::put_team{t, true}, who);
  auto& w = expect_write<write::insert_team>(out, "team.create");
  CAF_CHECK_EQUAL(w.rec.org_id, "org-1");
  CAF_CHECK(!out->audit.before_json);
  st.teams["t1"] = team_entry{w.rec, nullptr};
  auto upd = decide(st, cmd::put_team{t, false}, who);
  expect_write<write::update_team>(upd, "team.update");
  CAF_CHECK(upd->audit.before_json);
  auto del = decide(st, cmd::delete_team{"t1"}, who);
  auto& dw = expect_write<write::delete_team>(del, "team.delete");
  CAF_CHECK_EQUAL(dw.id, "t1");
  CAF_CHECK(del->audit.before_json);
}

CAF_TEST(put and delete app) {
  storage::app_record a;
  a.id = "a1";
  a.name = "Bot";
  a.slug = "bot";
  auto out = decide(st, app_recs, cmd::put_app{a, true}, who);
  auto& w = expect_write<write::insert_app>(out, "app.create");
  CAF_CHECK_EQUAL(w.rec.org_id, "org-1");
  app_recs["a1"] = w.rec;
  auto upd = decide(st, app_recs, cmd::put_app{a, false}, who);
  expect_write<write::update_app>(upd, "app.update");
  CAF_CHECK(upd->audit.before_json);
  auto del = decide(st, app_recs, cmd::delete_app{"a1"}, who);
  expect_write<write::delete_app>(del, "app.delete");
  CAF_CHECK(del->audit.before_json);
  CAF_CHECK(!del->audit.after_json);
}

CAF_TEST(drop member) {
  auto out = decide(st, cmd::drop_member{"user-2"}, who);
  auto& w = expect_write<write::delete_membership>(out, "member.delete");
  CAF_CHECK_EQUAL(w.user_id, "user-2");
  CAF_CHECK_EQUAL(w.now, "2025-12-05T02:00:00Z");
  CAF_CHECK_EQUAL(out->change.now, w.now);
  CAF_CHECK_EQUAL(out->audit.target_id, "user-2");
}

CAF_TEST_FIXTURE_SCOPE_END()
