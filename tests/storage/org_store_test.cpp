#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::t0;
using strings = std::vector<std::string>;

// Teams, apps, audit queries and organization ids.
class OrgStoreTest : public testing::store_test {
protected:
  team_record make_team(const std::string& org_id, const std::string& id,
                        const std::string& name) {
    team_record t;
    t.id = id;
    t.org_id = org_id;
    t.name = name;
    t.created_at = t0;
    return t;
  }

  app_record make_app(const std::string& org_id, const std::string& id,
                      const std::string& slug) {
    app_record a;
    a.id = id;
    a.org_id = org_id;
    a.name = "App " + slug;
    a.slug = slug;
    a.created_at = t0;
    return a;
  }

  /// A user of `org_id` (a new user) with the membership given.
  void add_member(const std::string& org_id, const std::string& user_id,
                  const std::string& status = "active",
                  const std::optional<std::string>& team_id = std::nullopt) {
    user_record u;
    u.id = user_id;
    u.email = user_id + "@x.com";
    u.created_at = t0;
    membership_record m;
    m.org_id = org_id;
    m.user_id = user_id;
    m.role = "member";
    m.status = status;
    m.team_id = team_id;
    m.joined_at = t0;
    st().insert_invite(u, true, m, make_audit(org_id, "member.add"));
  }

  request_log_record make_log(const std::string& org_id, const std::string& id,
                              const std::optional<std::string>& app_id) {
    request_log_record l;
    l.id = id;
    l.org_id = org_id;
    l.request_id = "req-" + id;
    l.app_id = app_id;
    l.provider = "openai";
    l.model = "gpt-4o-mini";
    l.method = "POST";
    l.path = "/v1/chat/completions";
    l.status = 200;
    l.created_at = "2026-02-01T00:00:00.000Z";
    return l;
  }

  usage_delta counter(const std::string& org_id, const std::string& type,
                      const std::string& id, std::int64_t cost) {
    return {org_id, type, id, "2026-02", 1, 1, 1, cost};
  }

  /// Audit entry `id` of `org_id` at `at`.
  audit_record entry(const std::string& org_id, const std::string& id,
                     const std::string& at, const std::string& action,
                     const std::string& actor = "someone") {
    auto a = make_audit(org_id, action, at);
    a.id = id;
    a.actor_id = actor;
    return a;
  }

  /// The ids of every audit entry matching `filter`, newest first, read in
  /// pages of `limit`.
  strings audit_ids(const std::string& org_id, const audit_filter& filter = {},
                    int limit = 2) {
    strings out;
    std::optional<std::string> cursor;
    int pages = 0;
    do {
      auto page = st().query_audit(org_id, filter, cursor, limit);
      EXPECT_LE(page.entries.size(),
                static_cast<std::size_t>(std::max(limit, 1)));
      for (const auto& a : page.entries)
        out.push_back(a.id);
      cursor = page.next_cursor;
      if (++pages > 100)
        break;
    } while (cursor);
    return out;
  }
};

GH_INSTANTIATE_BACKEND_SUITE(OrgStoreTest);

TEST_P(OrgStoreTest, TeamRowsCountMembersAndActiveKeys) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  st().insert_team(make_team(s.org.id, "team-a", "Platform"));
  st().insert_team(make_team(s.org.id, "team-b", "Research"));
  st().insert_team(make_team(s.org.id, "team-c", "research ops"));
  st().insert_team(make_team(other.org.id, "team-x", "Research"));
  add_member(s.org.id, "u1", "active", std::string("team-a"));
  add_member(s.org.id, "u2", "invited", std::string("team-a"));
  add_member(s.org.id, "u3", "suspended", std::string("team-b"));
  add_member(other.org.id, "u4", "active", std::string("team-x"));
  auto k1 = make_key(s.org.id, "u1", "2026-01-02T00:00:00Z");
  k1.team_id = "team-a";
  auto k2 = make_key(s.org.id, s.user.id, "2026-01-03T00:00:00Z");
  k2.team_id = "team-a";
  auto k3 = make_key(s.org.id, "u1", "2026-01-01T00:00:00Z");
  k3.team_id = "team-a";
  k3.status = "revoked";
  auto kx = make_key(other.org.id, "u4");
  kx.team_id = "team-x";
  for (const auto& k : {k1, k2, k3, kx})
    st().insert_key(k, make_audit(k.org_id, "key.create"));

  auto rows = st().list_team_rows(s.org.id);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].team.id, "team-a");
  EXPECT_EQ(rows[0].team.name, "Platform");
  EXPECT_EQ(rows[0].team.org_id, s.org.id);
  EXPECT_EQ(rows[0].member_count, 2);
  EXPECT_EQ(rows[0].key_count, 2);
  EXPECT_EQ(rows[1].team.id, "team-b");
  EXPECT_EQ(rows[1].member_count, 1);
  EXPECT_EQ(rows[1].key_count, 0);
  EXPECT_EQ(rows[2].team.id, "team-c");
  EXPECT_EQ(rows[2].member_count, 0);
  EXPECT_EQ(rows[2].key_count, 0);

  auto found = st().list_team_rows(s.org.id, std::string("RESEARCH"));
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].team.name, "Research");
  EXPECT_EQ(found[1].team.name, "research ops");
  EXPECT_TRUE(st().list_team_rows(s.org.id, std::string("%")).empty());
  EXPECT_EQ(st().list_team_rows(s.org.id, std::string("")).size(), 3u);

  auto one = st().find_team_row(s.org.id, "team-a");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->member_count, 2);
  EXPECT_EQ(one->key_count, 2);
  EXPECT_FALSE(st().find_team_row(other.org.id, "team-a"));
  auto x = st().find_team_row(other.org.id, "team-x");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->member_count, 1);
  EXPECT_EQ(x->key_count, 1);

  auto keys = st().list_team_keys(s.org.id, "team-a");
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].id, k3.id);
  EXPECT_EQ(keys[1].id, k1.id);
  EXPECT_EQ(keys[2].id, k2.id);
  EXPECT_TRUE(st().list_team_keys(other.org.id, "team-a").empty());
  EXPECT_TRUE(st().list_team_keys(s.org.id, "team-b").empty());
}

TEST_P(OrgStoreTest, UpdateTeam) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  st().insert_team(make_team(s.org.id, "team-a", "Platform"));
  st().insert_team(make_team(s.org.id, "team-b", "Research"));
  const auto audits = count("audit_log");
  auto t = make_team(s.org.id, "team-a", "Infra");
  t.description = "Runs things";
  t.monthly_spend_limit_micros = 5'000'000;
  t.created_at = "2030-01-01T00:00:00Z"; // not stored
  EXPECT_TRUE(st().update_team(t, make_audit(s.org.id, "team.update")));
  auto got = st().find_team(s.org.id, "team-a");
  EXPECT_EQ(got->name, "Infra");
  EXPECT_EQ(got->description, "Runs things");
  EXPECT_EQ(got->monthly_spend_limit_micros, 5'000'000);
  EXPECT_EQ(got->created_at, t0);
  t.monthly_spend_limit_micros.reset();
  EXPECT_TRUE(st().update_team(t, make_audit(s.org.id, "team.update")));
  EXPECT_EQ(st().find_team(s.org.id, "team-a")->monthly_spend_limit_micros,
            std::nullopt);
  EXPECT_EQ(count("audit_log"), audits + 2);

  t.name = "Research";
  try {
    st().update_team(t, make_audit(s.org.id, "team.update"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "teams.name");
  }
  EXPECT_EQ(st().find_team(s.org.id, "team-a")->name, "Infra");
  t.id = "nope";
  EXPECT_FALSE(st().update_team(t, make_audit(s.org.id, "team.update")));
  t.id = "team-a";
  t.org_id = other.org.id;
  EXPECT_FALSE(st().update_team(t, make_audit(other.org.id, "team.update")));
  EXPECT_EQ(count("audit_log"), audits + 2);
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(OrgStoreTest, DeleteTeamUnassignsMembersAndKeys) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  st().insert_team(make_team(s.org.id, "team-a", "Platform"));
  st().insert_team(make_team(s.org.id, "team-b", "Research"));
  add_member(s.org.id, "u1", "active", std::string("team-a"));
  add_member(s.org.id, "u2", "invited", std::string("team-a"));
  add_member(s.org.id, "u3", "active", std::string("team-b"));
  auto k1 = make_key(s.org.id, "u1");
  k1.team_id = "team-a";
  auto k2 = make_key(s.org.id, "u3");
  k2.team_id = "team-b";
  st().insert_key(k1, make_audit(s.org.id, "key.create"));
  st().insert_key(k2, make_audit(s.org.id, "key.create"));
  const auto audits = count("audit_log");

  EXPECT_FALSE(
    st().delete_team(other.org.id, "team-a", make_audit(other.org.id, "x")));
  EXPECT_EQ(st().find_membership(s.org.id, "u1")->team_id, "team-a");
  EXPECT_TRUE(
    st().delete_team(s.org.id, "team-a", make_audit(s.org.id, "team.delete")));
  EXPECT_FALSE(st().find_team(s.org.id, "team-a"));
  EXPECT_EQ(st().find_membership(s.org.id, "u1")->team_id, std::nullopt);
  EXPECT_EQ(st().find_membership(s.org.id, "u2")->team_id, std::nullopt);
  EXPECT_EQ(st().find_membership(s.org.id, "u3")->team_id, "team-b");
  EXPECT_EQ(st().find_key(s.org.id, k1.id)->team_id, std::nullopt);
  EXPECT_EQ(st().find_key(s.org.id, k1.id)->status, "active");
  EXPECT_EQ(st().find_key(s.org.id, k2.id)->team_id, "team-b");
  EXPECT_EQ(count("audit_log"), audits + 1);
  EXPECT_FALSE(
    st().delete_team(s.org.id, "team-a", make_audit(s.org.id, "team.delete")));
  EXPECT_EQ(count("audit_log"), audits + 1);
  auto rows = st().list_team_rows(s.org.id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].member_count, 1);
  EXPECT_EQ(rows[0].key_count, 1);
}

TEST_P(OrgStoreTest, TeamMonthSpend) {
  auto s = new_org("acme");
  st().write_batch({},
                   {counter(s.org.id, "team", "team-a", 100),
                    counter(s.org.id, "team", "team-a", 50),
                    counter(s.org.id, "team", "team-b", 7),
                    counter(s.org.id, "app", "app-1", 1000),
                    {s.org.id, "team", "team-a", "2026-01", 1, 1, 1, 9999},
                    counter("other", "team", "team-a", 5)},
                   {});
  auto spend = st().team_month_spend(s.org.id, "2026-02");
  EXPECT_EQ(spend, (std::map<std::string, std::int64_t>{{"team-a", 150},
                                                        {"team-b", 7}}));
  EXPECT_TRUE(st().team_month_spend(s.org.id, "2026-03").empty());
}

TEST_P(OrgStoreTest, SlugTakenAndUpdateApp) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  st().insert_app(make_app(s.org.id, "app-1", "support"));
  EXPECT_TRUE(st().slug_taken(s.org.id, "support"));
  EXPECT_FALSE(st().slug_taken(s.org.id, "support-2"));
  EXPECT_FALSE(st().slug_taken(other.org.id, "support"));
  const auto audits = count("audit_log");

  auto a = make_app(s.org.id, "app-1", "ignored");
  a.name = "Support Bot";
  a.description = "Answers";
  a.project_type = "mcp_gateway";
  a.env = "prod";
  a.is_active = false;
  a.metadata_json = R"({"owner":"cx"})";
  a.created_at = "2030-01-01T00:00:00Z";
  EXPECT_TRUE(st().update_app(a, make_audit(s.org.id, "app.update")));
  auto got = st().find_app(s.org.id, "app-1");
  EXPECT_EQ(got->name, "Support Bot");
  EXPECT_EQ(got->description, "Answers");
  EXPECT_EQ(got->env, "prod");
  EXPECT_FALSE(got->is_active);
  EXPECT_EQ(got->metadata_json, R"({"owner":"cx"})");
  EXPECT_EQ(got->slug, "support");
  EXPECT_EQ(got->project_type, "ai_gateway");
  EXPECT_EQ(got->created_at, t0);
  a.is_active = true;
  EXPECT_TRUE(st().update_app(a, make_audit(s.org.id, "app.update")));
  EXPECT_TRUE(st().find_app(s.org.id, "app-1")->is_active);
  EXPECT_EQ(count("audit_log"), audits + 2);

  a.id = "nope";
  EXPECT_FALSE(st().update_app(a, make_audit(s.org.id, "app.update")));
  a.id = "app-1";
  a.org_id = other.org.id;
  EXPECT_FALSE(st().update_app(a, make_audit(other.org.id, "app.update")));
  EXPECT_EQ(count("audit_log"), audits + 2);
}

TEST_P(OrgStoreTest, DeleteAppTakesItsKeysLogsAndCountersAlong) {
  auto s = new_org("acme");
  auto other = new_org("globex");
  st().insert_app(make_app(s.org.id, "app-1", "support"));
  st().insert_app(make_app(s.org.id, "app-2", "batch"));
  st().insert_app(make_app(other.org.id, "app-x", "support"));
  auto k1 = make_key(s.org.id, s.user.id);
  k1.app_id = "app-1";
  auto k2 = make_key(s.org.id, s.user.id);
  k2.app_id = "app-1";
  auto k3 = make_key(s.org.id, s.user.id);
  k3.app_id = "app-1";
  k3.status = "revoked";
  auto keep = make_key(s.org.id, s.user.id);
  keep.app_id = "app-2";
  for (const auto& k : {k1, k2, k3, keep})
    st().insert_key(k, make_audit(s.org.id, "key.create"));
  ASSERT_TRUE(st().rotate_key(s.org.id, k2.id, "hash-rotated", "sk-gate-rot",
                              4'000'000'000, make_audit(s.org.id, "rotate")));
  st().write_batch(
    {make_log(s.org.id, "l1", std::string("app-1")),
     make_log(s.org.id, "l2", std::string("app-1")),
     make_log(s.org.id, "l3", std::string("app-1")),
     make_log(s.org.id, "l4", std::string("app-2")),
     make_log(s.org.id, "l5", std::nullopt),
     make_log(other.org.id, "l6", std::string("app-1"))},
    {counter(s.org.id, "app", "app-1", 10), counter(s.org.id, "key", k1.id, 4),
     counter(s.org.id, "key", k2.id, 6), counter(s.org.id, "team", "t", 10),
     counter(s.org.id, "app", "app-2", 1),
     counter(s.org.id, "key", keep.id, 1)},
    {});

  auto info = st().app_counts(s.org.id, "app-1");
  EXPECT_EQ(info.keys, 3);
  EXPECT_EQ(info.requests, 3);
  EXPECT_EQ(st().app_counts(s.org.id, "app-2").keys, 1);
  EXPECT_EQ(st().app_counts(s.org.id, "app-2").requests, 1);
  EXPECT_EQ(st().app_counts(other.org.id, "app-1").keys, 0);
  EXPECT_EQ(st().app_counts(other.org.id, "app-1").requests, 1);
  EXPECT_EQ(st().app_counts(s.org.id, "nope").keys, 0);
  const auto audits = count("audit_log");

  EXPECT_FALSE(st().delete_app(other.org.id, "app-1",
                               make_audit(other.org.id, "app.delete")));
  EXPECT_FALSE(
    st().delete_app(s.org.id, "nope", make_audit(s.org.id, "app.delete")));
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_EQ(count("request_logs"), 6);

  auto hashes
    = st().delete_app(s.org.id, "app-1", make_audit(s.org.id, "app.delete"));
  ASSERT_TRUE(hashes);
  strings want{k1.key_hash, k2.key_hash, k3.key_hash, "hash-rotated"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*hashes, want);
  EXPECT_FALSE(st().find_app(s.org.id, "app-1"));
  EXPECT_TRUE(st().find_app(s.org.id, "app-2"));
  EXPECT_TRUE(st().find_app(other.org.id, "app-x"));
  EXPECT_FALSE(st().slug_taken(s.org.id, "support"));
  EXPECT_FALSE(st().find_key(s.org.id, k1.id));
  EXPECT_FALSE(st().find_key(s.org.id, k3.id));
  EXPECT_TRUE(st().find_key(s.org.id, keep.id));
  EXPECT_EQ(st().list_keys(s.org.id).size(), 2u); // signup's and keep
  strings left;
  for (const auto& l : st().query_logs(s.org.id, {}, std::nullopt, 100).logs)
    left.push_back(l.id);
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (strings{"l4", "l5"}));
  EXPECT_EQ(st().query_logs(other.org.id, {}, std::nullopt, 100).logs.size(),
            1u);
  auto usage = st().load_month_usage(s.org.id, "2026-02");
  strings scopes;
  for (const auto& u : usage)
    scopes.push_back(u.scope_type + ":" + u.scope_id);
  EXPECT_EQ(scopes, (strings{"app:app-2", "key:" + keep.id, "team:t"}));
  // The audit log keeps every entry, the deletion's included.
  EXPECT_EQ(count("audit_log"), audits + 1);
  EXPECT_EQ(st().app_counts(s.org.id, "app-1").keys, 0);
  EXPECT_EQ(st().app_counts(s.org.id, "app-1").requests, 0);

  EXPECT_FALSE(
    st().delete_app(s.org.id, "app-1", make_audit(s.org.id, "app.delete")));
  auto empty
    = st().delete_app(s.org.id, "app-2", make_audit(s.org.id, "app.delete"));
  ASSERT_TRUE(empty);
  EXPECT_EQ(*empty, strings{keep.key_hash});
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(OrgStoreTest, AuditPagesNewestFirstWhateverThePrecision) {
  const std::string org = "org-a";
  // Inserted out of order; e2 and e3 share a second, e4 has milliseconds.
  st().insert_audit(entry(org, "e3", "2026-01-01T00:00:01Z", "key.create"));
  st().insert_audit(entry(org, "e5", "2026-01-01T00:00:02Z", "key.revoke"));
  st().insert_audit(
    entry(org, "e1", "2026-01-01T00:00:00.999Z", "org.update", "admin"));
  st().insert_audit(
    entry(org, "e4", "2026-01-01T00:00:01.500Z", "key.create", "admin"));
  st().insert_audit(entry(org, "e2", "2026-01-01T00:00:01Z", "team.create"));
  st().insert_audit(entry("org-b", "e9", "2026-01-01T00:00:03Z", "x"));

  const strings all{"e5", "e4", "e3", "e2", "e1"};
  EXPECT_EQ(audit_ids(org), all);
  EXPECT_EQ(audit_ids(org, {}, 1), all);
  EXPECT_EQ(audit_ids(org, {}, 5), all);
  EXPECT_EQ(audit_ids(org, {}, 0), all); // brought up to 1
  EXPECT_EQ(audit_ids("org-b"), strings{"e9"});
  EXPECT_TRUE(audit_ids("nope").empty());

  auto first = st().query_audit(org, {}, std::nullopt, 5);
  EXPECT_FALSE(first.next_cursor);
  ASSERT_EQ(first.entries.size(), 5u);
  const auto& e4 = first.entries[1];
  EXPECT_EQ(e4.id, "e4");
  EXPECT_EQ(e4.org_id, org);
  EXPECT_EQ(e4.actor_type, "user");
  EXPECT_EQ(e4.actor_id, "admin");
  EXPECT_EQ(e4.action, "key.create");
  EXPECT_EQ(e4.target_type, "thing");
  EXPECT_EQ(e4.target_id, "thing-1");
  EXPECT_EQ(e4.before_json, std::nullopt);
  EXPECT_EQ(e4.after_json, R"({"x":1})");
  EXPECT_EQ(e4.ip, "127.0.0.1");
  EXPECT_EQ(e4.created_at, "2026-01-01T00:00:01.500Z");
  auto page = st().query_audit(org, {}, std::nullopt, 2);
  ASSERT_TRUE(page.next_cursor);
  // A cursor positions; it does not filter by organization.
  EXPECT_TRUE(
    st().query_audit("org-b", {}, page.next_cursor, 2).entries.empty());

  audit_filter f;
  f.action = "key.create";
  EXPECT_EQ(audit_ids(org, f, 1), (strings{"e4", "e3"}));
  f.actor_id = "admin";
  EXPECT_EQ(audit_ids(org, f), strings{"e4"});
  audit_filter target;
  target.target_type = "thing";
  target.target_id = "thing-1";
  EXPECT_EQ(audit_ids(org, target), all);
  target.target_id = "thing-2";
  EXPECT_TRUE(audit_ids(org, target).empty());

  // Bounds with and without a fraction, and dates alone.
  audit_filter range;
  range.from = "2026-01-01T00:00:01Z";
  EXPECT_EQ(audit_ids(org, range), (strings{"e5", "e4", "e3", "e2"}));
  range.from = "2026-01-01T00:00:01.2Z";
  EXPECT_EQ(audit_ids(org, range), (strings{"e5", "e4"}));
  range.to = "2026-01-01T00:00:02Z";
  EXPECT_EQ(audit_ids(org, range), strings{"e4"});
  range.from = "2026-01-01T00:00:00.999Z";
  range.to = "2026-01-01T00:00:01.000Z";
  EXPECT_EQ(audit_ids(org, range), strings{"e1"});
  range.from = "2026-01-01";
  range.to = "2026-01-02";
  EXPECT_EQ(audit_ids(org, range, 1), all);
  range.to = "2026-01-01";
  EXPECT_TRUE(audit_ids(org, range).empty());
}

TEST_P(OrgStoreTest, AuditRefusesCursorsItDidNotIssue) {
  const std::string org = "org-a";
  st().insert_audit(entry(org, "e1", "2026-01-01T00:00:00Z", "x"));
  st().insert_audit(entry(org, "e2", "2026-01-01T00:00:01Z", "x"));
  auto page = st().query_audit(org, {}, std::nullopt, 1);
  ASSERT_TRUE(page.next_cursor);
  auto next = st().query_audit(org, {}, page.next_cursor, 1);
  ASSERT_EQ(next.entries.size(), 1u);
  EXPECT_EQ(next.entries[0].id, "e1");
  EXPECT_FALSE(next.next_cursor);
  for (const auto& bad :
       strings{"", "!!!", "abc", "x|y", page.next_cursor->substr(1),
               *page.next_cursor + "=", "MjAyNg"}) {
    EXPECT_THROW(st().query_audit(org, {}, bad, 1), bad_cursor) << bad;
  }
}

TEST_P(OrgStoreTest, OrgIdsOldestFirst) {
  EXPECT_TRUE(st().list_org_ids().empty());
  auto b = make_signup("bravo", "b@example.com", "2026-02-01T00:00:00Z");
  auto a = make_signup("alpha", "a@example.com", "2026-03-01T00:00:00Z");
  auto c = make_signup("charlie", "c@example.com", "2026-01-01T00:00:00Z");
  do_signup(b);
  do_signup(a);
  do_signup(c);
  EXPECT_EQ(st().list_org_ids(), (strings{c.org.id, b.org.id, a.org.id}));
}

} // namespace
} // namespace gatehouse::storage
