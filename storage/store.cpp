#include "storage/store.hpp"

#include <nlohmann/json.hpp>

#include "storage/database.hpp"

namespace gatehouse::storage {

namespace {

// Column lists shared by the queries below; the row readers depend on
// their order.

const std::string org_columns = "o.id, o.slug, o.name, o.plan, o.settings, "
                                "o.created_at";

const std::string user_columns = "id, email, display_name, password_hash, "
                                 "created_at";

const std::string membership_columns
  = "m.org_id, m.user_id, m.role, m.status, m.team_id, m.joined_at, "
    "m.last_active_at, m.last_used_at";

const std::string key_columns
  = "id, org_id, user_id, name, key_hash, key_prefix, previous_key_hash, "
    "previous_valid_until, scopes, app_id, team_id, rate_limit_rpm, status, "
    "created_at, expires_at, revoked_at, last_used_at, request_count";

// Memberships in the order of list_user_memberships.
const std::string membership_order
  = " ORDER BY m.last_used_at DESC NULLS LAST, m.joined_at ASC NULLS LAST, "
    "o.id";

/// NULL for the empty string.
param or_null(const std::string& s) {
  return s.empty() ? param() : param(s);
}

org_record read_org(const row& r, std::size_t at = 0) {
  org_record o;
  o.id = r.text(at);
  o.slug = r.text(at + 1);
  o.name = r.text(at + 2);
  o.plan = r.text(at + 3);
  o.settings_json = r.text(at + 4);
  o.created_at = r.text(at + 5);
  return o;
}

user_record read_user(const row& r) {
  user_record u;
  u.id = r.text(0);
  u.email = r.text(1);
  u.display_name = r.text(2);
  u.password_hash = r.text(3);
  u.created_at = r.text(4);
  return u;
}

membership_record read_membership(const row& r, std::size_t at = 0) {
  membership_record m;
  m.org_id = r.text(at);
  m.user_id = r.text(at + 1);
  m.role = r.text(at + 2);
  m.status = r.text(at + 3);
  m.team_id = r.opt_text(at + 4);
  m.joined_at = r.text(at + 5);
  m.last_active_at = r.opt_text(at + 6);
  m.last_used_at = r.opt_text(at + 7);
  return m;
}

std::string encode_scopes(const std::vector<std::string>& scopes) {
  return nlohmann::json(scopes).dump();
}

std::vector<std::string> decode_scopes(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array())
    throw storage_error("api_keys.scopes is not a JSON array");
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (item.is_string())
      out.push_back(item.get<std::string>());
  }
  return out;
}

api_key_record read_key(const row& r) {
  api_key_record k;
  k.id = r.text(0);
  k.org_id = r.text(1);
  k.user_id = r.text(2);
  k.name = r.text(3);
  k.key_hash = r.text(4);
  k.key_prefix = r.text(5);
  k.previous_key_hash = r.opt_text(6);
  k.previous_valid_until = r.opt_int64(7);
  k.scopes = decode_scopes(r.text(8));
  k.app_id = r.opt_text(9);
  k.team_id = r.opt_text(10);
  if (auto rpm = r.opt_int64(11))
    k.rate_limit_rpm = static_cast<int>(*rpm);
  k.status = r.text(12);
  k.created_at = r.text(13);
  k.expires_at = r.opt_text(14);
  k.revoked_at = r.opt_text(15);
  k.last_used_at = r.opt_text(16);
  k.request_count = r.int64(17);
  return k;
}

std::vector<api_key_record> read_keys(const rows& rs) {
  std::vector<api_key_record> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read_key(r));
  return out;
}

std::vector<org_membership> read_org_memberships(const rows& rs) {
  std::vector<org_membership> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back({read_org(r, 0), read_membership(r, 6)});
  return out;
}

void insert_org_row(database& db, const org_record& o) {
  db.exec("INSERT INTO orgs (id, slug, name, plan, settings, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6)",
          {o.id, o.slug, o.name, o.plan, o.settings_json, o.created_at});
}

void insert_user_row(database& db, const user_record& u) {
  db.exec(
    "INSERT INTO users (" + user_columns + ") VALUES ($1, $2, $3, $4, $5)",
    {u.id, u.email, u.display_name, or_null(u.password_hash), u.created_at});
}

void insert_membership_row(database& db, const membership_record& m) {
  db.exec("INSERT INTO memberships (org_id, user_id, role, status, team_id, "
          "joined_at, last_active_at, last_used_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {m.org_id, m.user_id, m.role, m.status, m.team_id,
           or_null(m.joined_at), m.last_active_at, m.last_used_at});
}

void insert_key_row(database& db, const api_key_record& k) {
  db.exec("INSERT INTO api_keys (" + key_columns
            + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
              "$13, $14, $15, $16, $17, $18)",
          {k.id, k.org_id, k.user_id, k.name, k.key_hash, k.key_prefix,
           k.previous_key_hash, k.previous_valid_until, encode_scopes(k.scopes),
           k.app_id, k.team_id, k.rate_limit_rpm, k.status, k.created_at,
           k.expires_at, k.revoked_at, k.last_used_at, k.request_count});
}

void insert_audit_row(database& db, const audit_record& a) {
  db.exec("INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, "
          "target_type, target_id, before, after, ip, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          {a.id, a.org_id, a.actor_type, a.actor_id, a.action, a.target_type,
           a.target_id, a.before_json, a.after_json, a.ip, a.created_at});
}

} // namespace

void store::create_signup(const org_record& org, const user_record& user,
                          bool new_user, const membership_record& membership,
                          const api_key_record& key,
                          const audit_record& audit) {
  transaction tx(db_);
  insert_org_row(db_, org);
  if (new_user)
    insert_user_row(db_, user);
  insert_membership_row(db_, membership);
  insert_key_row(db_, key);
  insert_audit_row(db_, audit);
  tx.commit();
}

std::optional<user_record> store::find_user_by_email(const std::string& email) {
  auto rs = db_.exec("SELECT " + user_columns + " FROM users WHERE email = $1",
                     {email});
  if (rs.empty())
    return std::nullopt;
  return read_user(rs.front());
}

std::optional<user_record> store::find_user(const std::string& id) {
  auto rs
    = db_.exec("SELECT " + user_columns + " FROM users WHERE id = $1", {id});
  if (rs.empty())
    return std::nullopt;
  return read_user(rs.front());
}

std::optional<org_record> store::find_org(const std::string& id) {
  auto rs
    = db_.exec("SELECT " + org_columns + " FROM orgs o WHERE o.id = $1", {id});
  if (rs.empty())
    return std::nullopt;
  return read_org(rs.front());
}

std::optional<org_record> store::find_org_by_slug(const std::string& slug) {
  auto rs = db_.exec("SELECT " + org_columns + " FROM orgs o WHERE o.slug = $1",
                     {slug});
  if (rs.empty())
    return std::nullopt;
  return read_org(rs.front());
}

std::vector<org_record> store::list_orgs() {
  auto rs = db_.exec("SELECT " + org_columns
                     + " FROM orgs o ORDER BY o.created_at, o.id");
  std::vector<org_record> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read_org(r));
  return out;
}

bool store::update_org(const org_record& org, const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE orgs SET name = $2, settings = $3 "
                     "WHERE id = $1 RETURNING id",
                     {org.id, org.name, org.settings_json});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

bool store::set_org_plan(const std::string& org_id, const std::string& plan,
                         const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE orgs SET plan = $2 WHERE id = $1 RETURNING id",
                     {org_id, plan});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::optional<membership_record>
store::find_membership(const std::string& org_id, const std::string& user_id) {
  auto rs = db_.exec("SELECT " + membership_columns
                       + " FROM memberships m "
                         "WHERE m.org_id = $1 AND m.user_id = $2",
                     {org_id, user_id});
  if (rs.empty())
    return std::nullopt;
  return read_membership(rs.front());
}

std::vector<org_membership>
store::list_user_memberships(const std::string& user_id) {
  return read_org_memberships(
    db_.exec("SELECT " + org_columns + ", " + membership_columns
               + " FROM memberships m JOIN orgs o ON o.id = m.org_id "
                 "WHERE m.user_id = $1"
               + membership_order,
             {user_id}));
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
  auto all = read_org_memberships(
    db_.exec("SELECT " + org_columns + ", " + membership_columns
               + " FROM memberships m JOIN orgs o ON o.id = m.org_id "
                 "WHERE m.user_id = $1 AND m.status = 'active'"
               + membership_order + " LIMIT 1",
             {user_id}));
  if (all.empty())
    return std::nullopt;
  return std::move(all.front());
}

void store::insert_key(const api_key_record& key, const audit_record& audit) {
  transaction tx(db_);
  insert_key_row(db_, key);
  insert_audit_row(db_, audit);
  tx.commit();
}

std::vector<api_key_record>
store::list_keys(const std::string& org_id,
                 const std::optional<std::string>& user_id) {
  if (user_id)
    return read_keys(db_.exec("SELECT " + key_columns
                                + " FROM api_keys WHERE org_id = $1 "
                                  "AND user_id = $2 ORDER BY created_at, id",
                              {org_id, *user_id}));
  return read_keys(db_.exec("SELECT " + key_columns
                              + " FROM api_keys WHERE org_id = $1 "
                                "ORDER BY created_at, id",
                            {org_id}));
}

std::optional<api_key_record> store::find_key(const std::string& org_id,
                                              const std::string& id) {
  auto rs = db_.exec("SELECT " + key_columns
                       + " FROM api_keys WHERE org_id = $1 AND id = $2",
                     {org_id, id});
  if (rs.empty())
    return std::nullopt;
  return read_key(rs.front());
}

bool store::revoke_key(const std::string& org_id, const std::string& id,
                       const std::string& now, const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE api_keys SET status = 'revoked', "
                     "revoked_at = COALESCE(revoked_at, $3) "
                     "WHERE org_id = $1 AND id = $2 RETURNING id",
                     {org_id, id, now});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

bool store::rotate_key(const std::string& org_id, const std::string& id,
                       const std::string& new_hash,
                       const std::string& new_prefix,
                       std::int64_t previous_valid_until,
                       const audit_record& audit) {
  transaction tx(db_);
  // Every SET expression reads the row as it was, so key_hash on the right
  // is the old hash.
  auto rs = db_.exec("UPDATE api_keys SET previous_key_hash = key_hash, "
                     "previous_valid_until = $5, key_hash = $3, "
                     "key_prefix = $4 "
                     "WHERE org_id = $1 AND id = $2 AND status = 'active' "
                     "RETURNING id",
                     {org_id, id, new_hash, new_prefix, previous_valid_until});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::vector<api_key_record> store::load_org_keys(const std::string& org_id) {
  return list_keys(org_id);
}

std::vector<key_index_entry> store::load_key_index(std::int64_t now_unix) {
  auto rs
    = db_.exec("SELECT key_hash, org_id FROM api_keys WHERE status = 'active' "
               "UNION ALL "
               "SELECT previous_key_hash, org_id FROM api_keys "
               "WHERE status = 'active' AND previous_key_hash IS NOT NULL "
               "AND previous_valid_until > $1",
               {now_unix});
  std::vector<key_index_entry> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back({r.text(0), r.text(1)});
  return out;
}

std::int64_t store::count_active_keys(const std::string& org_id) {
  auto rs = db_.exec("SELECT COUNT(*) FROM api_keys "
                     "WHERE org_id = $1 AND status = 'active'",
                     {org_id});
  return rs.front().int64(0);
}

bool store::team_exists(const std::string& org_id, const std::string& id) {
  return !db_
            .exec("SELECT 1 FROM teams WHERE org_id = $1 AND id = $2",
                  {org_id, id})
            .empty();
}

bool store::app_exists(const std::string& org_id, const std::string& id) {
  return !db_
            .exec("SELECT 1 FROM apps WHERE org_id = $1 AND id = $2",
                  {org_id, id})
            .empty();
}

void store::insert_audit(const audit_record& audit) {
  insert_audit_row(db_, audit);
}

bool store::ping() noexcept {
  try {
    return db_.exec("SELECT 1").size() == 1;
  } catch (...) {
    return false;
  }
}

} // namespace gatehouse::storage
