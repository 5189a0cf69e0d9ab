#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::t0;

class StoreTest : public testing::store_test {};

GH_INSTANTIATE_BACKEND_SUITE(StoreTest);

TEST_P(StoreTest, SignupWritesEverything) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto org = st().find_org(s.org.id);
  ASSERT_TRUE(org);
  EXPECT_EQ(org->slug, "acme");
  EXPECT_EQ(org->name, "Org acme");
  EXPECT_EQ(org->plan, "free");
  EXPECT_EQ(org->settings_json, "{}");
  EXPECT_EQ(org->created_at, t0);
  auto user = st().find_user_by_email("a@example.com");
  ASSERT_TRUE(user);
  EXPECT_EQ(user->id, s.user.id);
  EXPECT_EQ(user->password_hash, "$2b$04$hash");
  EXPECT_EQ(st().find_user(s.user.id)->email, "a@example.com");
  auto m = st().find_membership(s.org.id, s.user.id);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->role, "owner");
  EXPECT_EQ(m->status, "active");
  EXPECT_EQ(m->joined_at, t0);
  EXPECT_EQ(m->team_id, std::nullopt);
  EXPECT_EQ(m->last_used_at, std::nullopt);
  auto keys = st().list_keys(s.org.id);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].name, "Default");
  EXPECT_EQ(keys[0].scopes, std::vector<std::string>{"*"});
  EXPECT_EQ(count("audit_log"), 1);
}

TEST_P(StoreTest, SignupWithATakenSlugWritesNothing) {
  auto first = make_signup("acme", "a@example.com");
  do_signup(first);
  auto second = make_signup("acme", "b@example.com");
  try {
    do_signup(second);
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "orgs.slug");
  }
  EXPECT_FALSE(st().find_user_by_email("b@example.com"));
  EXPECT_FALSE(st().find_org(second.org.id));
  EXPECT_EQ(count("orgs"), 1);
  EXPECT_EQ(count("users"), 1);
  EXPECT_EQ(count("memberships"), 1);
  EXPECT_EQ(count("api_keys"), 1);
  EXPECT_EQ(count("audit_log"), 1);
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(StoreTest, SignupWithATakenEmailWritesNothing) {
  auto first = make_signup("acme", "a@example.com");
  do_signup(first);
  auto second = make_signup("globex", "a@example.com");
  try {
    do_signup(second);
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "users.email");
  }
  EXPECT_FALSE(st().find_org_by_slug("globex"));
  EXPECT_EQ(count("orgs"), 1);
  EXPECT_EQ(count("api_keys"), 1);
}

TEST_P(StoreTest, SignupOfAnExistingUserAddsAMembership) {
  auto first = make_signup("acme", "a@example.com");
  do_signup(first);
  auto second = make_signup("globex", "a@example.com", "2026-01-02T00:00:00Z");
  do_signup(second, false, first.user.id);
  EXPECT_EQ(count("users"), 1);
  auto all = st().list_user_memberships(first.user.id);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].org.slug, "acme");
  EXPECT_EQ(all[1].org.slug, "globex");
}

TEST_P(StoreTest, MissingRowsAreNullopt) {
  EXPECT_FALSE(st().find_user("nope"));
  EXPECT_FALSE(st().find_user_by_email("nope@example.com"));
  EXPECT_FALSE(st().find_org("nope"));
  EXPECT_FALSE(st().find_org_by_slug("nope"));
  EXPECT_FALSE(st().find_membership("nope", "nope"));
  EXPECT_FALSE(st().find_key("nope", "nope"));
  EXPECT_FALSE(st().most_recent_org("nope"));
  EXPECT_TRUE(st().list_user_memberships("nope").empty());
  EXPECT_TRUE(st().list_keys("nope").empty());
  EXPECT_TRUE(st().list_orgs().empty());
  EXPECT_EQ(st().count_active_keys("nope"), 0);
}

TEST_P(StoreTest, OrgsListOldestFirstAndFindBySlug) {
  auto b = make_signup("bravo", "b@example.com", "2026-02-01T00:00:00Z");
  auto a = make_signup("alpha", "a@example.com", "2026-03-01T00:00:00Z");
  auto c = make_signup("charlie", "c@example.com", "2026-01-01T00:00:00Z");
  do_signup(b);
  do_signup(a);
  do_signup(c);
  auto orgs = st().list_orgs();
  ASSERT_EQ(orgs.size(), 3u);
  EXPECT_EQ(orgs[0].slug, "charlie");
  EXPECT_EQ(orgs[1].slug, "bravo");
  EXPECT_EQ(orgs[2].slug, "alpha");
  EXPECT_EQ(st().find_org_by_slug("alpha")->id, a.org.id);
}

TEST_P(StoreTest, UpdateOrgChangesNameAndSettingsOnly) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  org_record changed = s.org;
  changed.name = "Acme Corp";
  changed.settings_json = R"({"log_bodies":true})";
  changed.slug = "ignored";
  changed.plan = "enterprise";
  EXPECT_TRUE(st().update_org(changed, make_audit(s.org.id, "org.update")));
  auto org = st().find_org(s.org.id);
  EXPECT_EQ(org->name, "Acme Corp");
  EXPECT_EQ(org->settings_json, R"({"log_bodies":true})");
  EXPECT_EQ(org->slug, "acme");
  EXPECT_EQ(org->plan, "free");
  EXPECT_EQ(count("audit_log"), 2);
  changed.id = "nope";
  EXPECT_FALSE(st().update_org(changed, make_audit("nope", "org.update")));
  EXPECT_EQ(count("audit_log"), 2);
}

TEST_P(StoreTest, SetOrgPlan) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  EXPECT_TRUE(
    st().set_org_plan(s.org.id, "enterprise", make_audit(s.org.id, "plan")));
  EXPECT_EQ(st().find_org(s.org.id)->plan, "enterprise");
  EXPECT_FALSE(st().set_org_plan("nope", "free", make_audit("nope", "plan")));
  EXPECT_EQ(count("audit_log"), 2);
}

TEST_P(StoreTest, MembershipsOrderByLastUseThenJoining) {
  auto a = make_signup("alpha", "u@example.com", "2026-01-01T00:00:00Z");
  do_signup(a);
  const auto user = a.user.id;
  auto b = make_signup("bravo", "x", "2026-01-02T00:00:00Z");
  do_signup(b, false, user);
  auto c = make_signup("charlie", "x", "2026-01-03T00:00:00Z");
  do_signup(c, false, user);
  auto d = make_signup("delta", "x", "2026-01-04T00:00:00Z");
  d.membership.status = "invited";
  d.membership.joined_at.clear();
  do_signup(d, false, user);

  // Nothing used yet: joining order, the invitation (not joined) last.
  auto all = st().list_user_memberships(user);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].org.slug, "alpha");
  EXPECT_EQ(all[1].org.slug, "bravo");
  EXPECT_EQ(all[2].org.slug, "charlie");
  EXPECT_EQ(all[3].org.slug, "delta");
  EXPECT_EQ(all[3].membership.joined_at, "");
  EXPECT_EQ(all[3].membership.status, "invited");
  EXPECT_EQ(st().most_recent_org(user)->org.slug, "alpha");

  st().touch_membership(c.org.id, user, "2026-02-01T00:00:00Z");
  st().touch_membership(b.org.id, user, "2026-02-02T00:00:00Z");
  st().touch_membership(d.org.id, user, "2026-02-03T00:00:00Z");
  all = st().list_user_memberships(user);
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].org.slug, "delta");
  EXPECT_EQ(all[1].org.slug, "bravo");
  EXPECT_EQ(all[2].org.slug, "charlie");
  EXPECT_EQ(all[3].org.slug, "alpha");
  EXPECT_EQ(all[1].membership.last_used_at, "2026-02-02T00:00:00Z");
  EXPECT_EQ(all[1].membership.last_active_at, "2026-02-02T00:00:00Z");
  EXPECT_EQ(all[3].membership.last_used_at, std::nullopt);

  // Only active memberships count: delta is an invitation.
  auto recent = st().most_recent_org(user);
  ASSERT_TRUE(recent);
  EXPECT_EQ(recent->org.slug, "bravo");
  EXPECT_EQ(recent->membership.role, "owner");
  db().exec("UPDATE memberships SET status = 'suspended' "
            "WHERE org_id = $1",
            {b.org.id});
  EXPECT_EQ(st().most_recent_org(user)->org.slug, "charlie");
}

TEST_P(StoreTest, KeysListInCreationOrderAndFilterByUser) {
  auto s = make_signup("acme", "a@example.com", "2026-01-01T00:00:00Z");
  do_signup(s);
  auto other = make_signup("globex", "b@example.com");
  do_signup(other);
  db().exec("INSERT INTO memberships (org_id, user_id, role, joined_at) "
            "VALUES ($1, $2, 'member', $3)",
            {s.org.id, other.user.id, t0});
  auto k3 = make_key(s.org.id, other.user.id, "2026-01-03T00:00:00Z");
  auto k2 = make_key(s.org.id, s.user.id, "2026-01-02T00:00:00Z");
  st().insert_key(k3, make_audit(s.org.id, "key.create"));
  st().insert_key(k2, make_audit(s.org.id, "key.create"));
  auto keys = st().list_keys(s.org.id);
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].id, s.key.id);
  EXPECT_EQ(keys[1].id, k2.id);
  EXPECT_EQ(keys[2].id, k3.id);
  auto mine = st().list_keys(s.org.id, s.user.id);
  ASSERT_EQ(mine.size(), 2u);
  EXPECT_EQ(mine[0].id, s.key.id);
  EXPECT_EQ(mine[1].id, k2.id);
  EXPECT_EQ(st().list_keys(s.org.id, other.user.id).size(), 1u);
  EXPECT_EQ(st().load_org_keys(s.org.id).size(), 3u);
  EXPECT_EQ(st().count_active_keys(s.org.id), 3);
  EXPECT_EQ(st().count_active_keys(other.org.id), 1);
  // Keys of another organization are not found through this one.
  EXPECT_FALSE(st().find_key(other.org.id, k2.id));
  EXPECT_EQ(st().find_key(s.org.id, k2.id)->key_hash, k2.key_hash);
  EXPECT_EQ(count("audit_log"), 4);
}

TEST_P(StoreTest, KeyFieldsRoundTripWithAndWithoutNulls) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  add_team(s.org.id, "team-1");
  add_app(s.org.id, "app-1");
  auto full = make_key(s.org.id, s.user.id);
  full.scopes = {"provider:openai", "model:gpt-4o-mini", "odd \"scope\""};
  full.app_id = "app-1";
  full.team_id = "team-1";
  full.rate_limit_rpm = 60;
  full.expires_at = "2027-01-01T00:00:00Z";
  full.last_used_at = "2026-01-05T00:00:00Z";
  full.request_count = 1234567890123;
  st().insert_key(full, make_audit(s.org.id, "key.create"));
  auto got = st().find_key(s.org.id, full.id);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->scopes, full.scopes);
  EXPECT_EQ(got->app_id, "app-1");
  EXPECT_EQ(got->team_id, "team-1");
  EXPECT_EQ(got->rate_limit_rpm, 60);
  EXPECT_EQ(got->expires_at, "2027-01-01T00:00:00Z");
  EXPECT_EQ(got->last_used_at, "2026-01-05T00:00:00Z");
  EXPECT_EQ(got->request_count, 1234567890123);
  EXPECT_EQ(got->status, "active");
  EXPECT_EQ(got->user_id, s.user.id);
  EXPECT_EQ(got->key_prefix, full.key_prefix);

  auto bare = st().find_key(s.org.id, s.key.id);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->app_id, std::nullopt);
  EXPECT_EQ(bare->team_id, std::nullopt);
  EXPECT_EQ(bare->rate_limit_rpm, std::nullopt);
  EXPECT_EQ(bare->expires_at, std::nullopt);
  EXPECT_EQ(bare->revoked_at, std::nullopt);
  EXPECT_EQ(bare->last_used_at, std::nullopt);
  EXPECT_EQ(bare->previous_key_hash, std::nullopt);
  EXPECT_EQ(bare->previous_valid_until, std::nullopt);
  EXPECT_EQ(bare->request_count, 0);
}

TEST_P(StoreTest, ADuplicateKeyHashConflictsAndWritesNoAudit) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto dup = make_key(s.org.id, s.user.id);
  dup.key_hash = s.key.key_hash;
  try {
    st().insert_key(dup, make_audit(s.org.id, "key.create"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "api_keys.key_hash");
    EXPECT_EQ(std::string(e.what()).find(s.key.key_hash), std::string::npos);
  }
  EXPECT_EQ(count("api_keys"), 1);
  EXPECT_EQ(count("audit_log"), 1);
}

TEST_P(StoreTest, RevokeKey) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto other = make_signup("globex", "b@example.com");
  do_signup(other);
  EXPECT_FALSE(st().revoke_key(other.org.id, s.key.id, "2026-01-02T00:00:00Z",
                               make_audit(other.org.id, "key.revoke")));
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->status, "active");
  EXPECT_TRUE(st().revoke_key(s.org.id, s.key.id, "2026-01-02T00:00:00Z",
                              make_audit(s.org.id, "key.revoke")));
  auto k = st().find_key(s.org.id, s.key.id);
  EXPECT_EQ(k->status, "revoked");
  EXPECT_EQ(k->revoked_at, "2026-01-02T00:00:00Z");
  // Revoking again keeps the first time.
  EXPECT_TRUE(st().revoke_key(s.org.id, s.key.id, "2026-01-09T00:00:00Z",
                              make_audit(s.org.id, "key.revoke")));
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->revoked_at,
            "2026-01-02T00:00:00Z");
  EXPECT_EQ(st().count_active_keys(s.org.id), 0);
  auto index = st().load_key_index(0);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].key_hash, other.key.key_hash);
  EXPECT_EQ(index[0].org_id, other.org.id);
  EXPECT_FALSE(st().rotate_key(s.org.id, s.key.id, "new", "sk-gate-new", 100,
                               make_audit(s.org.id, "key.rotate")));
  EXPECT_EQ(st().find_key(s.org.id, s.key.id)->key_hash, s.key.key_hash);
}

TEST_P(StoreTest, KeyIndexPartsTogetherAreTheWholeIndex) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  // Hex hashes over every leading digit, and the signup's plain one.
  const std::string digits = "0123456789abcdef";
  for (char c : digits + "0f") {
    auto k = make_key(s.org.id, s.user.id);
    k.key_hash = std::string(1, c) + std::string(63, '7') + k.id;
    st().insert_key(k, make_audit(s.org.id, "key.create"));
  }
  EXPECT_TRUE(st().rotate_key(s.org.id, s.key.id, "a-rotated", "sk-gate-rot",
                              1'800'000'000,
                              make_audit(s.org.id, "key.rotate")));
  auto sorted = [](std::vector<key_index_entry> v) {
    std::vector<std::string> out;
    for (auto& e : v)
      out.push_back(e.key_hash + "/" + e.org_id);
    std::sort(out.begin(), out.end());
    return out;
  };
  const auto whole = sorted(st().load_key_index(0));
  ASSERT_EQ(whole.size(), 20u); // 19 keys, one also under its previous hash
  for (int parts : {1, 2, 3, 16}) {
    const auto bounds = st().key_index_bounds(parts);
    EXPECT_EQ(bounds.size(), static_cast<std::size_t>(parts - 1));
    std::vector<key_index_entry> joined;
    for (int part = 0; part < parts; ++part) {
      auto piece = st().load_key_index(0, bounds, part);
      joined.insert(joined.end(), piece.begin(), piece.end());
    }
    EXPECT_EQ(sorted(joined), whole) << parts << " parts";
  }
  // A key added after the bounds were taken is in one part.
  const auto bounds = st().key_index_bounds(2);
  auto late = make_key(s.org.id, s.user.id);
  late.key_hash = "f-late";
  st().insert_key(late, make_audit(s.org.id, "key.create"));
  std::vector<key_index_entry> joined;
  for (int part = 0; part < 2; ++part) {
    auto piece = st().load_key_index(0, bounds, part);
    joined.insert(joined.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(sorted(joined).size(), 21u);
  EXPECT_THROW(st().load_key_index(0, bounds, 2), std::invalid_argument);
  EXPECT_THROW(st().key_index_bounds(17), std::invalid_argument);
}

TEST_P(StoreTest, RotateKeyKeepsThePreviousHashForTheOverlap) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  const std::int64_t until = 1'800'000'000;
  EXPECT_TRUE(st().rotate_key(s.org.id, s.key.id, "hash-new", "sk-gate-abcd",
                              until, make_audit(s.org.id, "key.rotate")));
  auto k = st().find_key(s.org.id, s.key.id);
  EXPECT_EQ(k->key_hash, "hash-new");
  EXPECT_EQ(k->key_prefix, "sk-gate-abcd");
  EXPECT_EQ(k->previous_key_hash, s.key.key_hash);
  EXPECT_EQ(k->previous_valid_until, until);
  EXPECT_EQ(k->status, "active");

  auto during = st().load_key_index(until - 1);
  ASSERT_EQ(during.size(), 2u);
  std::vector<std::string> hashes{during[0].key_hash, during[1].key_hash};
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(hashes, (std::vector<std::string>{s.key.key_hash, "hash-new"}));
  EXPECT_EQ(during[0].org_id, s.org.id);
  EXPECT_EQ(during[1].org_id, s.org.id);

  auto after = st().load_key_index(until);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].key_hash, "hash-new");

  EXPECT_FALSE(st().rotate_key("nope", s.key.id, "x", "y", until,
                               make_audit("nope", "key.rotate")));
  EXPECT_EQ(count("audit_log"), 2);
}

TEST_P(StoreTest, TeamsAndAppsExistOnlyInTheirOrg) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto other = make_signup("globex", "b@example.com");
  do_signup(other);
  add_team(s.org.id, "team-1");
  add_app(s.org.id, "app-1");
  EXPECT_TRUE(st().team_exists(s.org.id, "team-1"));
  EXPECT_TRUE(st().app_exists(s.org.id, "app-1"));
  EXPECT_FALSE(st().team_exists(other.org.id, "team-1"));
  EXPECT_FALSE(st().app_exists(other.org.id, "app-1"));
  EXPECT_FALSE(st().team_exists(s.org.id, "app-1"));
}

TEST_P(StoreTest, AuditEntriesKeepNullsAndJson) {
  auto a = make_audit("org-x", "key.revoke", "2026-01-02T00:00:00Z");
  a.before_json = R"({"status":"active"})";
  a.after_json = std::nullopt;
  st().insert_audit(a);
  auto r = db().exec("SELECT id, org_id, actor_type, actor_id, action, "
                     "target_type, target_id, before, after, ip, created_at "
                     "FROM audit_log WHERE org_id = $1",
                     {"org-x"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text(0), a.id);
  EXPECT_EQ(r[0].text(2), "user");
  EXPECT_EQ(r[0].text(4), "key.revoke");
  EXPECT_EQ(r[0].opt_text(7), R"({"status":"active"})");
  EXPECT_TRUE(r[0].is_null(8));
  EXPECT_EQ(r[0].text(9), "127.0.0.1");
  EXPECT_EQ(r[0].text(10), "2026-01-02T00:00:00Z");
  EXPECT_THROW(st().insert_audit(a), conflict_error);
}

TEST_P(StoreTest, UsersWithoutPasswordReadBackEmpty) {
  auto s = make_signup("acme", "a@example.com");
  s.user.password_hash.clear();
  do_signup(s);
  EXPECT_TRUE(
    db().exec("SELECT 1 FROM users WHERE password_hash IS NULL").size() == 1);
  EXPECT_EQ(st().find_user(s.user.id)->password_hash, "");
}

TEST_P(StoreTest, Ping) {
  EXPECT_TRUE(st().ping());
}

TEST_P(StoreTest, TeamsInsertFindAndList) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto other = make_signup("globex", "b@example.com");
  do_signup(other);
  team_record capped;
  capped.id = "team-b";
  capped.org_id = s.org.id;
  capped.name = "Research";
  capped.description = "Long-running experiments";
  capped.monthly_spend_limit_micros = 250'000'000;
  capped.created_at = "2026-01-02T00:00:00Z";
  st().insert_team(capped, make_audit(s.org.id, "team.create"));
  team_record open;
  open.id = "team-a";
  open.org_id = s.org.id;
  open.name = "Platform";
  open.created_at = t0;
  st().insert_team(open);
  EXPECT_EQ(count("audit_log"), 3);

  auto got = st().find_team(s.org.id, "team-b");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->org_id, s.org.id);
  EXPECT_EQ(got->name, "Research");
  EXPECT_EQ(got->description, "Long-running experiments");
  EXPECT_EQ(got->monthly_spend_limit_micros, 250'000'000);
  EXPECT_EQ(got->created_at, "2026-01-02T00:00:00Z");
  EXPECT_EQ(st().find_team(s.org.id, "team-a")->monthly_spend_limit_micros,
            std::nullopt);
  EXPECT_EQ(st().find_team(s.org.id, "team-a")->description, "");
  EXPECT_FALSE(st().find_team(other.org.id, "team-a"));
  EXPECT_TRUE(st().team_exists(s.org.id, "team-a"));

  auto teams = st().list_teams(s.org.id);
  ASSERT_EQ(teams.size(), 2u);
  EXPECT_EQ(teams[0].name, "Platform");
  EXPECT_EQ(teams[1].name, "Research");
  EXPECT_TRUE(st().list_teams(other.org.id).empty());

  auto dup = open;
  dup.id = "team-c";
  try {
    st().insert_team(dup, make_audit(s.org.id, "team.create"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "teams.name");
  }
  EXPECT_EQ(count("audit_log"), 3);
  dup.org_id = other.org.id;
  st().insert_team(dup);
  EXPECT_EQ(st().list_teams(other.org.id).size(), 1u);
}

TEST_P(StoreTest, AppsInsertFindAndList) {
  auto s = make_signup("acme", "a@example.com");
  do_signup(s);
  auto other = make_signup("globex", "b@example.com");
  do_signup(other);
  app_record support;
  support.id = "app-2";
  support.org_id = s.org.id;
  support.name = "Customer Support AI";
  support.slug = "customer-support-ai";
  support.description = "Tier-1 answers";
  support.project_type = "ai_wrapper";
  support.env = "prod";
  support.is_active = false;
  support.metadata_json = R"({"owner":"cx"})";
  support.created_at = "2026-01-02T00:00:00Z";
  st().insert_app(support, make_audit(s.org.id, "app.create"));
  app_record bare;
  bare.id = "app-1";
  bare.org_id = s.org.id;
  bare.name = "Batch";
  bare.slug = "batch";
  bare.created_at = t0;
  st().insert_app(bare);
  EXPECT_EQ(count("audit_log"), 3);

  auto got = st().find_app(s.org.id, "app-2");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->org_id, s.org.id);
  EXPECT_EQ(got->name, "Customer Support AI");
  EXPECT_EQ(got->slug, "customer-support-ai");
  EXPECT_EQ(got->description, "Tier-1 answers");
  EXPECT_EQ(got->project_type, "ai_wrapper");
  EXPECT_EQ(got->env, "prod");
  EXPECT_FALSE(got->is_active);
  EXPECT_EQ(got->metadata_json, R"({"owner":"cx"})");
  EXPECT_EQ(got->created_at, "2026-01-02T00:00:00Z");
  auto plain = st().find_app(s.org.id, "app-1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->project_type, "ai_gateway");
  EXPECT_EQ(plain->env, "dev");
  EXPECT_TRUE(plain->is_active);
  EXPECT_EQ(plain->metadata_json, "{}");
  EXPECT_FALSE(st().find_app(other.org.id, "app-1"));
  EXPECT_TRUE(st().app_exists(s.org.id, "app-2"));

  auto apps = st().list_apps(s.org.id);
  ASSERT_EQ(apps.size(), 2u);
  EXPECT_EQ(apps[0].name, "Batch");
  EXPECT_EQ(apps[1].name, "Customer Support AI");
  EXPECT_TRUE(st().list_apps(other.org.id).empty());

  auto dup = bare;
  dup.id = "app-3";
  try {
    st().insert_app(dup, make_audit(s.org.id, "app.create"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "apps.slug");
  }
  EXPECT_EQ(count("audit_log"), 3);
  dup.org_id = other.org.id;
  st().insert_app(dup);
  EXPECT_EQ(st().list_apps(other.org.id).size(), 1u);
}

} // namespace
} // namespace gatehouse::storage
