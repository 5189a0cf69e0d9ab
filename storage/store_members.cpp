// The store's memberships, members and invitations.

#include "storage/store.hpp"

#include <algorithm>
#include <iterator>
#include <map>
#include <stdexcept>

#include "policy/permissions.hpp"
#include "policy/role.hpp"
#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

// Memberships in the order of list_user_memberships.
const std::string membership_order
  = " ORDER BY m.last_used_at DESC NULLS LAST, m.joined_at ASC NULLS LAST, "
    "o.id";

/// An organization and membership from org_columns, membership_columns.
org_membership read_org_membership(const row& r) {
  return {read_org(r, 0), read_membership(r, org_width)};
}

/// Members with their key counts, one scan of the organization's keys;
/// $1 is the organization. Callers append conditions on m.
const std::string& member_select() {
  static const std::string sql
    = "SELECT " + user_columns_u + ", " + membership_columns
      + ", COALESCE(k.active_keys, 0), COALESCE(k.requests, 0) "
        "FROM memberships m JOIN users u ON u.id = m.user_id "
        "LEFT JOIN (SELECT user_id, "
        "SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active_keys, "
        "SUM(request_count) AS requests "
        "FROM api_keys WHERE org_id = $1 GROUP BY user_id) k "
        "ON k.user_id = m.user_id "
        "WHERE m.org_id = $1";
  return sql;
}

member_row read_member(const row& r) {
  member_row m;
  m.user = read_user(r, 0);
  m.membership = read_membership(r, 5);
  m.api_keys = r.int64(5 + membership_width);
  m.request_count = r.int64(6 + membership_width);
  return m;
}

/// What list_members sorts by; nullopt sorts last in both directions.
using member_sort_key
  = std::optional<std::string> (*)(const member_row& member);

std::optional<std::string> time_key(const std::optional<std::string>& t) {
  if (!t || t->empty())
    return std::nullopt;
  return normalize_time(*t);
}

std::optional<std::string> role_key(const member_row& m) {
  static const char* const ranks[] = {"owner", "admin", "member", "viewer"};
  for (std::size_t i = 0; i < std::size(ranks); ++i) {
    if (m.membership.role == ranks[i])
      return std::string(1, static_cast<char>('0' + i));
  }
  return std::to_string(std::size(ranks)) + m.membership.role;
}

const std::map<std::string, member_sort_key>& member_sorts() {
  static const std::map<std::string, member_sort_key> sorts = {
    {"name",
     [](const member_row& m) -> std::optional<std::string> {
       if (m.user.display_name.empty())
         return std::nullopt;
       return ascii_lower(m.user.display_name);
     }},
    {"email",
     [](const member_row& m) -> std::optional<std::string> {
       return ascii_lower(m.user.email);
     }},
    {"role", role_key},
    {"status",
     [](const member_row& m) -> std::optional<std::string> {
       return m.membership.status;
     }},
    {"last_active",
     [](const member_row& m) { return time_key(m.membership.last_active_at); }},
    {"joined_at",
     [](const member_row& m) {
       return time_key(std::optional<std::string>(m.membership.joined_at));
     }},
  };
  return sorts;
}

/// In the open transaction: locks the org's active owner memberships, so
/// that a concurrent change of another owner waits for this transaction
/// and then sees its outcome, and refuses a change of `user_id` that does
/// not `keeps_owner` rights when it is the only active owner.
void guard_last_owner(database& db, const std::string& org_id,
                      const std::string& user_id, bool keeps_owner) {
  std::string sql = "SELECT user_id FROM memberships WHERE org_id = $1 "
                    "AND role = 'owner' AND status = 'active' "
                    "ORDER BY user_id";
  // SQLite's transactions take the write lock at BEGIN: they never overlap.
  if (db.dialect() == "postgresql")
    sql += " FOR UPDATE";
  auto owners = db.exec(sql, {org_id});
  bool is_owner = std::any_of(owners.begin(), owners.end(), [&](const row& r) {
    return r.text(0) == user_id;
  });
  if (!is_owner)
    return;
  if (policy::check_last_owner(policy::role::owner, true,
                               static_cast<int>(owners.size()), !keeps_owner)
      == policy::last_owner_check::would_remove_last_owner)
    throw last_owner_error();
}

} // namespace

std::optional<membership_record>
store::find_membership(const std::string& org_id, const std::string& user_id) {
  return read_first(db_.exec("SELECT " + membership_columns
                               + " FROM memberships m "
                                 "WHERE m.org_id = $1 AND m.user_id = $2",
                             {org_id, user_id}),
                    [](const row& r) { return read_membership(r); });
}

std::vector<org_membership>
store::list_user_memberships(const std::string& user_id) {
  return read_all(
    db_.exec("SELECT " + org_columns + ", " + membership_columns
               + " FROM memberships m JOIN orgs o ON o.id = m.org_id "
                 "WHERE m.user_id = $1"
               + membership_order,
             {user_id}),
    read_org_membership);
}

void store::touch_membership(const std::string& org_id,
                             const std::string& user_id,
                             const std::string& now) {
  db_.exec("UPDATE memberships SET last_used_at = $3, last_active_at = $3 "
           "WHERE org_id = $1 AND user_id = $2",
           {org_id, user_id, now});
}

std::optional<org_membership>
store::most_recent_org(const std::string& user_id) {
  return read_first(
    db_.exec("SELECT " + org_columns + ", " + membership_columns
               + " FROM memberships m JOIN orgs o ON o.id = m.org_id "
                 "WHERE m.user_id = $1 AND m.status = 'active'"
               + membership_order + " LIMIT 1",
             {user_id}),
    read_org_membership);
}

std::vector<member_row> store::list_members(const std::string& org_id,
                                            const member_query& query) {
  auto sort = member_sorts().find(query.sort);
  if (sort == member_sorts().end())
    throw std::invalid_argument("sort must be one of name, email, role, "
                                "status, last_active, joined_at");
  std::string sql = member_select();
  params args{org_id};
  if (query.role) {
    args.emplace_back(*query.role);
    sql += " AND m.role = $" + std::to_string(args.size());
  }
  if (query.status) {
    args.emplace_back(*query.status);
    sql += " AND m.status = $" + std::to_string(args.size());
  }
  auto rs = db_.exec(sql, args);

  const auto needle = query.q ? ascii_lower(*query.q) : std::string();
  std::vector<std::pair<std::optional<std::string>, member_row>> keyed;
  keyed.reserve(rs.size());
  for (const auto& r : rs) {
    auto m = read_member(r);
    if (!needle.empty() && !holds_folded(m.user.display_name, needle)
        && !holds_folded(m.user.email, needle))
      continue;
    auto key = sort->second(m);
    keyed.emplace_back(std::move(key), std::move(m));
  }
  // Sorted here, not by the database: its collation need not be byte
  // order, and times of either precision must compare as instants.
  const bool descending = query.descending;
  std::sort(keyed.begin(), keyed.end(),
            [descending](const auto& a, const auto& b) {
              const auto& ka = a.first;
              const auto& kb = b.first;
              if (ka.has_value() != kb.has_value())
                return ka.has_value(); // values first, missing ones last
              if (ka && *ka != *kb)
                return descending ? *kb < *ka : *ka < *kb;
              return a.second.user.id < b.second.user.id;
            });
  std::vector<member_row> out;
  out.reserve(keyed.size());
  for (auto& entry : keyed)
    out.push_back(std::move(entry.second));
  return out;
}

member_summary store::summarize_members(const std::string& org_id) {
  auto r
    = db_
        .exec("SELECT COUNT(*), "
              "COALESCE(SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END), "
              "0), "
              "COALESCE(SUM(CASE WHEN status = 'active' AND role IN "
              "('owner', 'admin') THEN 1 ELSE 0 END), 0), "
              "COALESCE(SUM(CASE WHEN status = 'invited' THEN 1 ELSE 0 "
              "END), 0) "
              "FROM memberships WHERE org_id = $1",
              {org_id})
        .at(0);
  return {r.int64(0), r.int64(1), r.int64(2), r.int64(3)};
}

std::optional<member_row> store::find_member(const std::string& org_id,
                                             const std::string& user_id) {
  return read_first(
    db_.exec(member_select() + " AND m.user_id = $2", {org_id, user_id}),
    read_member);
}

void store::insert_invite(const user_record& user, bool new_user,
                          const membership_record& membership,
                          const audit_record& audit) {
  write_audited(db_, audit, [&] {
    if (new_user)
      insert_user_row(db_, user);
    insert_membership_row(db_, membership);
  });
}

std::optional<std::pair<user_record, membership_record>>
store::find_invite(const std::string& token_hash) {
  auto rs = db_.exec("SELECT " + user_columns_u + ", " + membership_columns
                       + " FROM memberships m JOIN users u ON u.id = m.user_id "
                         "WHERE m.invite_token_hash = $1 "
                         "AND m.status = 'invited'",
                     {token_hash});
  if (rs.empty())
    return std::nullopt;
  return std::make_pair(read_user(rs.front(), 0),
                        read_membership(rs.front(), 5));
}

bool store::accept_invite(const std::string& org_id, const std::string& user_id,
                          const std::optional<std::string>& password_hash,
                          const std::optional<std::string>& display_name,
                          const std::string& now, const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE memberships SET status = 'active', "
                     "joined_at = $3, last_used_at = $3, last_active_at = $3, "
                     "invite_token_hash = NULL "
                     "WHERE org_id = $1 AND user_id = $2 "
                     "AND status = 'invited' RETURNING user_id",
                     {org_id, user_id, now});
  if (rs.empty())
    return false;
  if (password_hash || display_name)
    db_.exec("UPDATE users SET "
             "password_hash = COALESCE($2, password_hash), "
             "display_name = COALESCE($3, display_name) WHERE id = $1",
             {user_id, password_hash ? or_null(*password_hash) : param(),
              display_name});
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

bool store::update_membership(const membership_record& m,
                              const audit_record& audit) {
  transaction tx(db_);
  guard_last_owner(db_, m.org_id, m.user_id,
                   m.role == "owner" && m.status == "active");
  if (db_
        .exec("UPDATE memberships SET role = $3, status = $4, "
              "team_id = $5, invite_token_hash = $6, invited_at = $7 "
              "WHERE org_id = $1 AND user_id = $2 RETURNING user_id",
              {m.org_id, m.user_id, m.role, m.status, m.team_id,
               m.invite_token_hash, m.invited_at})
        .empty())
    return false;
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

std::optional<std::vector<std::string>>
store::delete_membership(const std::string& org_id, const std::string& user_id,
                         const std::string& now, const audit_record& audit) {
  transaction tx(db_);
  guard_last_owner(db_, org_id, user_id, false);
  auto gone = db_.exec("DELETE FROM memberships "
                       "WHERE org_id = $1 AND user_id = $2 RETURNING user_id",
                       {org_id, user_id});
  if (gone.empty())
    return std::nullopt;
  auto revoked = db_.exec("UPDATE api_keys SET status = 'revoked', "
                          "revoked_at = COALESCE(revoked_at, $3) "
                          "WHERE org_id = $1 AND user_id = $2 "
                          "AND status = 'active' "
                          "RETURNING key_hash, previous_key_hash",
                          {org_id, user_id, now});
  insert_change_audit(db_, audit);
  tx.commit();
  return key_hashes(revoked);
}

std::int64_t store::count_owners(const std::string& org_id, bool active_only) {
  return db_
    .exec(active_only ? "SELECT COUNT(*) FROM memberships WHERE org_id = $1 "
                        "AND role = 'owner' AND status = 'active'"
                      : "SELECT COUNT(*) FROM memberships WHERE org_id = $1 "
                        "AND role = 'owner'",
          {org_id})
    .at(0)
    .int64(0);
}

} // namespace gatehouse::storage
