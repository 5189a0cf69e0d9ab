#include <algorithm>
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/store.hpp"
#include "tests/storage/store_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::t0;
using strings = std::vector<std::string>;

class MemberStoreTest : public testing::store_test {
protected:
  user_record make_user(const std::string& id, const std::string& email,
                        const std::string& name) {
    user_record u;
    u.id = id;
    u.email = email;
    u.display_name = name;
    u.password_hash = "$2b$04$" + id;
    u.created_at = t0;
    return u;
  }

  membership_record make_membership(const std::string& org_id,
                                    const std::string& user_id,
                                    const std::string& role,
                                    const std::string& status = "active",
                                    const std::string& joined_at = t0) {
    membership_record m;
    m.org_id = org_id;
    m.user_id = user_id;
    m.role = role;
    m.status = status;
    m.joined_at = joined_at;
    return m;
  }

  /// An invitation of `user_id` with the token hash `token`.
  membership_record make_invite(const std::string& org_id,
                                const std::string& user_id,
                                const std::string& token,
                                const std::string& role = "member") {
    auto m = make_membership(org_id, user_id, role, "invited", "");
    m.invite_token_hash = token;
    m.invited_at = "2026-01-05T00:00:00Z";
    return m;
  }

  /// Stores `user` (when new) and `m` without going through an invitation.
  void add_member(const user_record& user, const membership_record& m,
                  bool new_user = true) {
    st().insert_invite(user, new_user, m, make_audit(m.org_id, "member.add"));
  }

  /// The user ids of `rows`, in order.
  static strings ids_of(const std::vector<member_row>& rows) {
    strings out;
    for (const auto& r : rows)
      out.push_back(r.user.id);
    return out;
  }

  strings member_ids(const std::string& org_id, const std::string& sort,
                     bool descending = false) {
    member_query q;
    q.sort = sort;
    q.descending = descending;
    return ids_of(st().list_members(org_id, q));
  }

  /// Members of `s.org` for the listing tests: the signup's owner
  /// (`user-2`, joined t0, never active) and
  /// - u-alice: admin, active, joined 01-02, active at 03-01 00:00:00.500
  /// - u-bob: admin, suspended, joined 01-03, active at 03-01 00:00:00
  /// - u-carol: viewer, invited, no display name, never joined or active.
  testing::signup seed_members() {
    auto s = make_signup("acme", "acme@example.com");
    do_signup(s);
    auto alice = make_membership(s.org.id, "u-alice", "admin", "active",
                                 "2026-01-02T00:00:00Z");
    alice.last_active_at = "2026-03-01T00:00:00.500Z";
    add_member(make_user("u-alice", "alice@x.com", "Alice Zed"), alice);
    auto bob = make_membership(s.org.id, "u-bob", "admin", "suspended",
                               "2026-01-03T00:00:00Z");
    bob.last_active_at = "2026-03-01T00:00:00Z";
    add_member(make_user("u-bob", "bob@x.com", "bob"), bob);
    auto carol = make_invite(s.org.id, "u-carol", "tok-carol", "viewer");
    add_member(make_user("u-carol", "carol@x.com", ""), carol);
    return s;
  }
};

GH_INSTANTIATE_BACKEND_SUITE(MemberStoreTest);

TEST_P(MemberStoreTest, MembersSortByEveryColumnWithMissingValuesLast) {
  auto s = seed_members();
  const auto& owner = s.user.id;
  ASSERT_EQ(owner, "user-2");

  // Names fold ASCII case; carol has none.
  EXPECT_EQ(member_ids(s.org.id, "name"),
            (strings{"u-alice", "u-bob", owner, "u-carol"}));
  EXPECT_EQ(member_ids(s.org.id, "name", true),
            (strings{owner, "u-bob", "u-alice", "u-carol"}));
  EXPECT_EQ(member_ids(s.org.id, "email"),
            (strings{owner, "u-alice", "u-bob", "u-carol"}));
  EXPECT_EQ(member_ids(s.org.id, "email", true),
            (strings{"u-carol", "u-bob", "u-alice", owner}));
  // Roles by rank; equal ranks by user id in both directions.
  EXPECT_EQ(member_ids(s.org.id, "role"),
            (strings{owner, "u-alice", "u-bob", "u-carol"}));
  EXPECT_EQ(member_ids(s.org.id, "role", true),
            (strings{"u-carol", "u-alice", "u-bob", owner}));
  EXPECT_EQ(member_ids(s.org.id, "status"),
            (strings{"u-alice", owner, "u-carol", "u-bob"}));
  EXPECT_EQ(member_ids(s.org.id, "status", true),
            (strings{"u-bob", "u-carol", "u-alice", owner}));
  // Bob's time has no fraction and is earlier than Alice's; never-active
  // members come last in both directions.
  EXPECT_EQ(member_ids(s.org.id, "last_active"),
            (strings{"u-bob", "u-alice", "u-carol", owner}));
  EXPECT_EQ(member_ids(s.org.id, "last_active", true),
            (strings{"u-alice", "u-bob", "u-carol", owner}));
  EXPECT_EQ(member_ids(s.org.id, "joined_at"),
            (strings{owner, "u-alice", "u-bob", "u-carol"}));
  EXPECT_EQ(member_ids(s.org.id, "joined_at", true),
            (strings{"u-bob", "u-alice", owner, "u-carol"}));

  member_query bad;
  bad.sort = "password_hash";
  EXPECT_THROW(st().list_members(s.org.id, bad), std::invalid_argument);
}

TEST_P(MemberStoreTest, MembersFilterByTextRoleAndStatus) {
  auto s = seed_members();
  auto other = new_org("globex");
  auto listed
    = [&](member_query q) { return ids_of(st().list_members(s.org.id, q)); };
  member_query q;
  q.q = "ALI";
  EXPECT_EQ(listed(q), strings{"u-alice"});
  q.q = "X.COM";
  EXPECT_EQ(listed(q), (strings{"u-alice", "u-bob", "u-carol"}));
  q.q = "acme";
  EXPECT_EQ(listed(q), strings{s.user.id});
  q.q = "zed";
  EXPECT_EQ(listed(q), strings{"u-alice"});
  // Wildcards of LIKE are plain characters.
  q.q = "%";
  EXPECT_TRUE(listed(q).empty());
  q.q = "_";
  EXPECT_TRUE(listed(q).empty());
  q.q = "";
  EXPECT_EQ(listed(q).size(), 4u);

  member_query by_role;
  by_role.role = "admin";
  EXPECT_EQ(listed(by_role), (strings{"u-alice", "u-bob"}));
  by_role.status = "suspended";
  EXPECT_EQ(listed(by_role), strings{"u-bob"});
  by_role.q = "alice";
  EXPECT_TRUE(listed(by_role).empty());
  member_query invited;
  invited.status = "invited";
  auto rows = st().list_members(s.org.id, invited);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].user.email, "carol@x.com");
  EXPECT_EQ(rows[0].membership.invite_token_hash, "tok-carol");
  EXPECT_EQ(rows[0].membership.invited_at, "2026-01-05T00:00:00Z");
  EXPECT_EQ(rows[0].membership.joined_at, "");

  auto others = st().list_members(other.org.id, {});
  ASSERT_EQ(others.size(), 1u);
  EXPECT_EQ(others[0].user.id, other.user.id);
  EXPECT_TRUE(st().list_members("nope", {}).empty());
}

TEST_P(MemberStoreTest, MemberRowsCountTheirKeysInTheOrg) {
  auto s = seed_members();
  auto k1 = make_key(s.org.id, "u-alice");
  k1.request_count = 5;
  auto k2 = make_key(s.org.id, "u-alice");
  k2.request_count = 7;
  auto k3 = make_key(s.org.id, "u-alice");
  k3.request_count = 11;
  k3.status = "revoked";
  k3.revoked_at = t0;
  for (const auto& k : {k1, k2, k3})
    st().insert_key(k, make_audit(s.org.id, "key.create"));
  // Alice's key in another organization counts there only.
  auto other = new_org("globex");
  add_member(make_user("u-alice", "", ""),
             make_membership(other.org.id, "u-alice", "member"), false);
  auto elsewhere = make_key(other.org.id, "u-alice");
  elsewhere.request_count = 1000;
  st().insert_key(elsewhere, make_audit(other.org.id, "key.create"));

  auto alice = st().find_member(s.org.id, "u-alice");
  ASSERT_TRUE(alice);
  EXPECT_EQ(alice->api_keys, 2);
  EXPECT_EQ(alice->request_count, 23);
  EXPECT_EQ(alice->user.email, "alice@x.com");
  EXPECT_EQ(alice->user.display_name, "Alice Zed");
  EXPECT_EQ(alice->user.password_hash, "$2b$04$u-alice");
  EXPECT_EQ(alice->membership.role, "admin");
  EXPECT_EQ(alice->membership.joined_at, "2026-01-02T00:00:00Z");
  EXPECT_EQ(alice->membership.last_active_at, "2026-03-01T00:00:00.500Z");
  EXPECT_EQ(alice->membership.invite_token_hash, std::nullopt);
  auto there = st().find_member(other.org.id, "u-alice");
  ASSERT_TRUE(there);
  EXPECT_EQ(there->api_keys, 1);
  EXPECT_EQ(there->request_count, 1000);

  auto bob = st().find_member(s.org.id, "u-bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->api_keys, 0);
  EXPECT_EQ(bob->request_count, 0);
  auto owner = st().find_member(s.org.id, s.user.id);
  EXPECT_EQ(owner->api_keys, 1); // the signup's key

  auto all = st().list_members(s.org.id, {});
  auto row = std::find_if(all.begin(), all.end(),
                          [](const auto& r) { return r.user.id == "u-alice"; });
  ASSERT_NE(row, all.end());
  EXPECT_EQ(row->api_keys, 2);
  EXPECT_EQ(row->request_count, 23);

  EXPECT_FALSE(st().find_member(s.org.id, "nope"));
  EXPECT_FALSE(st().find_member(other.org.id, "u-bob"));
}

TEST_P(MemberStoreTest, SummaryAndOwners) {
  auto s = seed_members();
  auto sum = st().summarize_members(s.org.id);
  EXPECT_EQ(sum.total, 4);
  EXPECT_EQ(sum.active, 2);
  // The owner and Alice; Bob is a suspended admin.
  EXPECT_EQ(sum.admins, 2);
  EXPECT_EQ(sum.pending_invites, 1);
  auto none = st().summarize_members("nope");
  EXPECT_EQ(none.total, 0);
  EXPECT_EQ(none.active, 0);
  EXPECT_EQ(none.admins, 0);
  EXPECT_EQ(none.pending_invites, 0);

  EXPECT_EQ(st().count_owners(s.org.id, true), 1);
  EXPECT_EQ(st().count_owners(s.org.id, false), 1);
  add_member(make_user("u-dave", "dave@x.com", "Dave"),
             make_membership(s.org.id, "u-dave", "owner", "suspended"));
  EXPECT_EQ(st().count_owners(s.org.id, true), 1);
  EXPECT_EQ(st().count_owners(s.org.id, false), 2);
  EXPECT_EQ(st().count_owners("nope", false), 0);
  EXPECT_EQ(st().summarize_members(s.org.id).admins, 2);
}

TEST_P(MemberStoreTest, InviteANewUserAndAccept) {
  auto s = make_signup("acme", "acme@example.com");
  do_signup(s);
  auto audits = count("audit_log");
  auto dana = make_user("u-dana", "dana@x.com", "");
  dana.password_hash.clear();
  auto invite = make_invite(s.org.id, "u-dana", "tok-1", "admin");
  st().insert_invite(dana, true, invite, make_audit(s.org.id, "member.invite"));
  EXPECT_EQ(count("audit_log"), audits + 1);
  EXPECT_EQ(
    db()
      .exec("SELECT 1 FROM users WHERE id = 'u-dana' AND password_hash IS NULL")
      .size(),
    1u);
  EXPECT_EQ(st().summarize_members(s.org.id).pending_invites, 1);

  auto found = st().find_invite("tok-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first.id, "u-dana");
  EXPECT_EQ(found->first.email, "dana@x.com");
  EXPECT_EQ(found->first.password_hash, "");
  EXPECT_EQ(found->second.org_id, s.org.id);
  EXPECT_EQ(found->second.role, "admin");
  EXPECT_EQ(found->second.status, "invited");
  EXPECT_EQ(found->second.joined_at, "");
  EXPECT_EQ(found->second.invite_token_hash, "tok-1");
  EXPECT_EQ(found->second.invited_at, "2026-01-05T00:00:00Z");
  EXPECT_FALSE(st().find_invite("tok-2"));

  const std::string now = "2026-01-06T10:00:00.123Z";
  EXPECT_TRUE(st().accept_invite(s.org.id, "u-dana", std::string("bcrypt"),
                                 std::string("Dana"), now,
                                 make_audit(s.org.id, "member.join")));
  EXPECT_EQ(count("audit_log"), audits + 2);
  auto m = st().find_membership(s.org.id, "u-dana");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, "active");
  EXPECT_EQ(m->role, "admin");
  EXPECT_EQ(m->joined_at, now);
  EXPECT_EQ(m->last_used_at, now);
  EXPECT_EQ(m->last_active_at, now);
  EXPECT_EQ(m->invite_token_hash, std::nullopt);
  EXPECT_EQ(m->invited_at, "2026-01-05T00:00:00Z");
  auto user = st().find_user("u-dana");
  EXPECT_EQ(user->password_hash, "bcrypt");
  EXPECT_EQ(user->display_name, "Dana");
  EXPECT_FALSE(st().find_invite("tok-1"));
  EXPECT_EQ(st().most_recent_org("u-dana")->org.id, s.org.id);
  auto sum = st().summarize_members(s.org.id);
  EXPECT_EQ(sum.pending_invites, 0);
  EXPECT_EQ(sum.active, 2);

  // Accepting again (or an invitation that does not exist) changes
  // nothing.
  EXPECT_FALSE(st().accept_invite(s.org.id, "u-dana", std::string("other"),
                                  std::nullopt, "2026-02-01T00:00:00Z",
                                  make_audit(s.org.id, "member.join")));
  EXPECT_FALSE(st().accept_invite(s.org.id, "nope", std::nullopt, std::nullopt,
                                  now, make_audit(s.org.id, "member.join")));
  EXPECT_EQ(st().find_user("u-dana")->password_hash, "bcrypt");
  EXPECT_EQ(st().find_membership(s.org.id, "u-dana")->joined_at, now);
  EXPECT_EQ(count("audit_log"), audits + 2);
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(MemberStoreTest, InviteAnExistingUserKeepsTheirAccount) {
  auto s = make_signup("acme", "acme@example.com");
  do_signup(s);
  auto other = new_org("globex");
  auto invite = make_invite(s.org.id, other.user.id, "tok-1");
  st().insert_invite(*st().find_user(other.user.id), false, invite,
                     make_audit(s.org.id, "member.invite"));
  EXPECT_EQ(count("users"), 2);
  auto found = st().find_invite("tok-1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first.email, "globex@example.com");

  EXPECT_TRUE(st().accept_invite(s.org.id, other.user.id, std::nullopt,
                                 std::nullopt, "2026-01-06T00:00:00Z",
                                 make_audit(s.org.id, "member.join")));
  auto user = st().find_user(other.user.id);
  EXPECT_EQ(user->password_hash, other.user.password_hash);
  EXPECT_EQ(user->display_name, other.user.display_name);
  auto all = st().list_user_memberships(other.user.id);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].org.id, s.org.id); // just used
  EXPECT_EQ(all[0].membership.status, "active");
  EXPECT_EQ(all[0].membership.role, "member");
}

TEST_P(MemberStoreTest, InvitingAMemberTwiceConflictsAndWritesNothing) {
  auto s = make_signup("acme", "acme@example.com");
  do_signup(s);
  auto dana = make_user("u-dana", "dana@x.com", "");
  st().insert_invite(dana, true, make_invite(s.org.id, "u-dana", "tok-1"),
                     make_audit(s.org.id, "member.invite"));
  const auto audits = count("audit_log");
  try {
    st().insert_invite(dana, false, make_invite(s.org.id, "u-dana", "tok-2"),
                       make_audit(s.org.id, "member.invite"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "memberships.user_id");
  }
  // The owner is in the organization already too.
  try {
    st().insert_invite(s.user, false, make_invite(s.org.id, s.user.id, "tok-3"),
                       make_audit(s.org.id, "member.invite"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "memberships.user_id");
  }
  // A new user whose email is taken.
  auto twin = make_user("u-twin", "dana@x.com", "");
  try {
    st().insert_invite(twin, true, make_invite(s.org.id, "u-twin", "tok-4"),
                       make_audit(s.org.id, "member.invite"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "users.email");
  }
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_EQ(count("users"), 2);
  EXPECT_EQ(count("memberships"), 2);
  EXPECT_FALSE(st().find_invite("tok-2"));
  EXPECT_TRUE(st().find_invite("tok-1"));
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(MemberStoreTest, UpdateMembership) {
  auto s = seed_members();
  add_team(s.org.id, "team-1");
  const auto audits = count("audit_log");
  auto alice = *st().find_membership(s.org.id, "u-alice");
  alice.role = "viewer";
  alice.status = "suspended";
  alice.team_id = "team-1";
  alice.joined_at = "2030-01-01T00:00:00Z"; // not stored
  EXPECT_TRUE(
    st().update_membership(alice, make_audit(s.org.id, "member.update")));
  auto got = st().find_membership(s.org.id, "u-alice");
  EXPECT_EQ(got->role, "viewer");
  EXPECT_EQ(got->status, "suspended");
  EXPECT_EQ(got->team_id, "team-1");
  EXPECT_EQ(got->joined_at, "2026-01-02T00:00:00Z");
  EXPECT_EQ(got->last_active_at, "2026-03-01T00:00:00.500Z");
  EXPECT_EQ(count("audit_log"), audits + 1);

  // A new invite token voids the old one.
  auto carol = *st().find_membership(s.org.id, "u-carol");
  carol.invite_token_hash = "tok-new";
  carol.invited_at = "2026-02-01T00:00:00Z";
  EXPECT_TRUE(
    st().update_membership(carol, make_audit(s.org.id, "member.reinvite")));
  EXPECT_FALSE(st().find_invite("tok-carol"));
  auto found = st().find_invite("tok-new");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->second.invited_at, "2026-02-01T00:00:00Z");
  EXPECT_EQ(found->second.role, "viewer");

  // Only invitations are found by their token.
  auto bob = *st().find_membership(s.org.id, "u-bob");
  bob.invite_token_hash = "tok-bob";
  EXPECT_TRUE(st().update_membership(bob, make_audit(s.org.id, "x")));
  EXPECT_FALSE(st().find_invite("tok-bob"));
  bob.invite_token_hash = "tok-new";
  try {
    st().update_membership(bob, make_audit(s.org.id, "x"));
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "memberships.invite_token_hash");
  }
  EXPECT_EQ(count("audit_log"), audits + 3);

  alice.team_id.reset();
  EXPECT_TRUE(st().update_membership(alice, make_audit(s.org.id, "x")));
  EXPECT_EQ(st().find_membership(s.org.id, "u-alice")->team_id, std::nullopt);
  alice.user_id = "nope";
  EXPECT_FALSE(st().update_membership(alice, make_audit(s.org.id, "x")));
  auto other = new_org("globex");
  auto moved = *st().find_membership(s.org.id, "u-bob");
  moved.org_id = other.org.id;
  EXPECT_FALSE(st().update_membership(moved, make_audit(other.org.id, "x")));
  EXPECT_EQ(count("audit_log"), audits + 5); // + the globex signup
}

TEST_P(MemberStoreTest, DeleteMembershipRevokesTheUsersKeysInTheOrg) {
  auto s = seed_members();
  auto other = new_org("globex");
  add_member(make_user("u-alice", "", ""),
             make_membership(other.org.id, "u-alice", "member"), false);
  auto k1 = make_key(s.org.id, "u-alice");
  auto k2 = make_key(s.org.id, "u-alice");
  auto old = make_key(s.org.id, "u-alice");
  old.status = "revoked";
  old.revoked_at = "2026-01-01T00:00:00Z";
  auto elsewhere = make_key(other.org.id, "u-alice");
  auto bobs = make_key(s.org.id, "u-bob");
  for (const auto& k : {k1, k2, old, elsewhere, bobs})
    st().insert_key(k, make_audit(k.org_id, "key.create"));
  ASSERT_TRUE(st().rotate_key(s.org.id, k2.id, "hash-rotated", "sk-gate-rot",
                              4'000'000'000, make_audit(s.org.id, "rotate")));
  const auto audits = count("audit_log");

  const std::string now = "2026-02-01T00:00:00Z";
  auto hashes = st().delete_membership(s.org.id, "u-alice", now,
                                       make_audit(s.org.id, "member.delete"));
  ASSERT_TRUE(hashes);
  strings want{k1.key_hash, k2.key_hash, "hash-rotated"};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*hashes, want);
  EXPECT_EQ(count("audit_log"), audits + 1);
  EXPECT_FALSE(st().find_membership(s.org.id, "u-alice"));
  EXPECT_FALSE(st().find_member(s.org.id, "u-alice"));
  EXPECT_TRUE(st().find_user("u-alice"));
  for (const auto& id : {k1.id, k2.id}) {
    auto k = st().find_key(s.org.id, id);
    EXPECT_EQ(k->status, "revoked");
    EXPECT_EQ(k->revoked_at, now);
  }
  EXPECT_EQ(st().find_key(s.org.id, old.id)->revoked_at,
            "2026-01-01T00:00:00Z");
  EXPECT_EQ(st().find_key(s.org.id, bobs.id)->status, "active");
  EXPECT_EQ(st().find_key(other.org.id, elsewhere.id)->status, "active");
  EXPECT_EQ(st().find_membership(other.org.id, "u-alice")->status, "active");
  for (const auto& e : st().load_key_index(0)) {
    EXPECT_NE(e.key_hash, k1.key_hash);
    EXPECT_NE(e.key_hash, "hash-rotated");
  }

  // A member without keys: nothing to revoke.
  auto none = st().delete_membership(s.org.id, "u-carol", now,
                                     make_audit(s.org.id, "member.delete"));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(count("audit_log"), audits + 2);

  EXPECT_FALSE(st().delete_membership(s.org.id, "u-alice", now,
                                      make_audit(s.org.id, "member.delete")));
  EXPECT_FALSE(st().delete_membership(other.org.id, "u-bob", now,
                                      make_audit(s.org.id, "member.delete")));
  EXPECT_EQ(st().find_key(s.org.id, bobs.id)->status, "active");
  EXPECT_EQ(count("audit_log"), audits + 2);
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(MemberStoreTest, TheLastActiveOwnerStays) {
  auto s = seed_members();
  const auto& owner = s.user.id;
  const auto audits = count("audit_log");
  const std::string now = "2026-02-01T00:00:00Z";
  auto m = *st().find_membership(s.org.id, owner);
  auto demoted = m;
  demoted.role = "admin";
  EXPECT_THROW(st().update_membership(demoted, make_audit(s.org.id, "x")),
               last_owner_error);
  auto suspended = m;
  suspended.status = "suspended";
  EXPECT_THROW(st().update_membership(suspended, make_audit(s.org.id, "x")),
               last_owner_error);
  EXPECT_THROW(
    st().delete_membership(s.org.id, owner, now, make_audit(s.org.id, "x")),
    last_owner_error);
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(count("audit_log"), audits);
  EXPECT_EQ(st().find_membership(s.org.id, owner)->role, "owner");
  EXPECT_EQ(st().find_membership(s.org.id, owner)->status, "active");
  // Changes that keep the owner's rights are fine.
  add_team(s.org.id, "team-1");
  auto moved = m;
  moved.team_id = "team-1";
  EXPECT_TRUE(st().update_membership(moved, make_audit(s.org.id, "x")));

  // A suspended owner does not count; with a second active owner the first
  // may go, and then the second is the last.
  auto bob = *st().find_membership(s.org.id, "u-bob");
  bob.role = "owner";
  EXPECT_TRUE(st().update_membership(bob, make_audit(s.org.id, "x")));
  EXPECT_THROW(st().update_membership(demoted, make_audit(s.org.id, "x")),
               last_owner_error);
  auto alice = *st().find_membership(s.org.id, "u-alice");
  alice.role = "owner";
  EXPECT_TRUE(st().update_membership(alice, make_audit(s.org.id, "x")));
  EXPECT_TRUE(st().update_membership(demoted, make_audit(s.org.id, "x")));
  EXPECT_THROW(
    st().delete_membership(s.org.id, "u-alice", now, make_audit(s.org.id, "x")),
    last_owner_error);
  // Bob, suspended, may be demoted or removed.
  bob.role = "member";
  EXPECT_TRUE(st().update_membership(bob, make_audit(s.org.id, "x")));
  EXPECT_TRUE(
    st().delete_membership(s.org.id, "u-bob", now, make_audit(s.org.id, "x")));
  EXPECT_EQ(st().count_owners(s.org.id, true), 1);
}

TEST_P(MemberStoreTest, ConcurrentDemotionsOfTheLastTwoOwnersLeaveOne) {
  auto s = seed_members();
  const auto& owner = s.user.id;
  auto alice = *st().find_membership(s.org.id, "u-alice");
  auto a = *st().find_membership(s.org.id, owner);
  // Two connections, each demoting one of the two owners at the same time.
  auto db1 = open_database(url());
  auto db2 = open_database(url());
  store st1(*db1);
  store st2(*db2);
  for (int round = 0; round < 20; ++round) {
    alice.role = "owner";
    a.role = "owner";
    ASSERT_TRUE(st().update_membership(alice, make_audit(s.org.id, "x")));
    ASSERT_TRUE(st().update_membership(a, make_audit(s.org.id, "x")));
    ASSERT_EQ(st().count_owners(s.org.id, true), 2);
    auto demote_alice = alice;
    demote_alice.role = "admin";
    auto demote_a = a;
    demote_a.role = "member";
    std::atomic<int> ready{0};
    std::atomic<int> refused{0};
    std::atomic<int> done{0};
    auto run
      = [&](store& on, const membership_record& m, const audit_record& audit) {
          ++ready;
          while (ready.load() < 2)
            std::this_thread::yield();
          try {
            if (on.update_membership(m, audit))
              ++done;
          } catch (const last_owner_error&) {
            ++refused;
          }
        };
    auto audit1 = make_audit(s.org.id, "demote");
    auto audit2 = make_audit(s.org.id, "demote");
    std::thread t1(run, std::ref(st1), std::cref(demote_alice),
                   std::cref(audit1));
    std::thread t2(run, std::ref(st2), std::cref(demote_a), std::cref(audit2));
    t1.join();
    t2.join();
    ASSERT_EQ(done.load(), 1) << "round " << round;
    ASSERT_EQ(refused.load(), 1) << "round " << round;
    ASSERT_EQ(st().count_owners(s.org.id, true), 1) << "round " << round;
  }
}

} // namespace
} // namespace gatehouse::storage
