// The store's teams and apps.

#include "storage/store.hpp"

#include <algorithm>
#include <tuple>

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

const std::string team_columns = "id, org_id, name, description, "
                                 "monthly_spend_limit_micros, created_at";

const std::string app_columns
  = "id, org_id, name, slug, description, project_type, env, is_active, "
    "metadata, created_at, guardrails, aliases, cache";

team_record read_team(const row& r) {
  team_record t;
  t.id = r.text(0);
  t.org_id = r.text(1);
  t.name = r.text(2);
  t.description = r.text(3);
  t.monthly_spend_limit_micros = r.opt_int64(4);
  t.created_at = r.text(5);
  return t;
}

app_record read_app(const row& r) {
  app_record a;
  a.id = r.text(0);
  a.org_id = r.text(1);
  a.name = r.text(2);
  a.slug = r.text(3);
  a.description = r.text(4);
  a.project_type = r.text(5);
  a.env = r.text(6);
  a.is_active = r.boolean(7);
  a.metadata_json = r.text(8);
  a.created_at = r.text(9);
  a.guardrails_json = r.text(10);
  a.aliases_json = r.text(11);
  a.cache_json = r.text(12);
  return a;
}

// Teams with their head counts; $1 is the organization. Callers append
// conditions on t.
const std::string team_row_select
  = "SELECT t.id, t.org_id, t.name, t.description, "
    "t.monthly_spend_limit_micros, t.created_at, "
    "COALESCE(mc.n, 0), COALESCE(kc.n, 0) FROM teams t "
    "LEFT JOIN (SELECT team_id, COUNT(*) AS n FROM memberships "
    "WHERE org_id = $1 AND team_id IS NOT NULL GROUP BY team_id) mc "
    "ON mc.team_id = t.id "
    "LEFT JOIN (SELECT team_id, COUNT(*) AS n FROM api_keys "
    "WHERE org_id = $1 AND status = 'active' AND team_id IS NOT NULL "
    "GROUP BY team_id) kc ON kc.team_id = t.id "
    "WHERE t.org_id = $1";

team_row read_team_row(const row& r) {
  return {read_team(r), r.int64(6), r.int64(7)};
}

/// True when `sql` returns a row.
bool has_row(database& db, std::string_view sql, const params& args) {
  return !db.exec(sql, args).empty();
}

} // namespace

// -- teams --------------------------------------------------------------------

void store::insert_team(const team_record& t) {
  db_.exec("INSERT INTO teams (" + team_columns
             + ") VALUES ($1, $2, $3, $4, $5, $6)",
           {t.id, t.org_id, t.name, t.description, t.monthly_spend_limit_micros,
            t.created_at});
}

void store::insert_team(const team_record& team, const audit_record& audit) {
  write_audited(db_, audit, [&] { insert_team(team); });
}

std::optional<team_record> store::find_team(const std::string& org_id,
                                            const std::string& id) {
  return read_first(db_.exec("SELECT " + team_columns
                               + " FROM teams WHERE org_id = $1 AND id = $2",
                             {org_id, id}),
                    read_team);
}

std::vector<team_record> store::list_teams(const std::string& org_id) {
  auto out = read_all(
    db_.exec("SELECT " + team_columns + " FROM teams WHERE org_id = $1",
             {org_id}),
    read_team);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

bool store::team_exists(const std::string& org_id, const std::string& id) {
  return has_row(db_, "SELECT 1 FROM teams WHERE org_id = $1 AND id = $2",
                 {org_id, id});
}

std::vector<team_row>
store::list_team_rows(const std::string& org_id,
                      const std::optional<std::string>& q) {
  auto rs = db_.exec(team_row_select, {org_id});
  const auto needle = q ? ascii_lower(*q) : std::string();
  std::vector<team_row> out;
  out.reserve(rs.size());
  for (const auto& r : rs) {
    auto t = read_team_row(r);
    if (needle.empty() || holds_folded(t.team.name, needle))
      out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.team.name, a.team.id) < std::tie(b.team.name, b.team.id);
  });
  return out;
}

std::optional<team_row> store::find_team_row(const std::string& org_id,
                                             const std::string& id) {
  return read_first(db_.exec(team_row_select + " AND t.id = $2", {org_id, id}),
                    read_team_row);
}

bool store::update_team(const team_record& t, const audit_record& audit) {
  return change_audited(
    db_,
    "UPDATE teams SET name = $3, description = $4, "
    "monthly_spend_limit_micros = $5 "
    "WHERE org_id = $1 AND id = $2 RETURNING id",
    {t.org_id, t.id, t.name, t.description, t.monthly_spend_limit_micros},
    audit);
}

bool store::delete_team(const std::string& org_id, const std::string& id,
                        const audit_record& audit) {
  transaction tx(db_);
  // Unassigned here rather than left to ON DELETE SET NULL, so that the
  // outcome does not depend on the backend enforcing foreign keys.
  db_.exec("UPDATE memberships SET team_id = NULL "
           "WHERE org_id = $1 AND team_id = $2",
           {org_id, id});
  db_.exec("UPDATE api_keys SET team_id = NULL "
           "WHERE org_id = $1 AND team_id = $2",
           {org_id, id});
  auto rs = db_.exec("DELETE FROM teams WHERE org_id = $1 AND id = $2 "
                     "RETURNING id",
                     {org_id, id});
  if (rs.empty())
    return false; // rolls the unassignments back
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

std::vector<api_key_record> store::list_team_keys(const std::string& org_id,
                                                  const std::string& team_id) {
  return read_keys(db_.exec("SELECT " + key_columns
                              + " FROM api_keys WHERE org_id = $1 "
                                "AND team_id = $2 ORDER BY created_at, id",
                            {org_id, team_id}));
}

// -- apps ---------------------------------------------------------------------

void store::insert_app(const app_record& a) {
  db_.exec("INSERT INTO apps (" + app_columns
             + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
               "$13)",
           {a.id, a.org_id, a.name, a.slug, a.description, a.project_type,
            a.env, a.is_active, a.metadata_json, a.created_at,
            a.guardrails_json, a.aliases_json, a.cache_json});
}

void store::insert_app(const app_record& app, const audit_record& audit) {
  write_audited(db_, audit, [&] { insert_app(app); });
}

std::optional<app_record> store::find_app(const std::string& org_id,
                                          const std::string& id) {
  return read_first(db_.exec("SELECT " + app_columns
                               + " FROM apps WHERE org_id = $1 AND id = $2",
                             {org_id, id}),
                    read_app);
}

std::vector<app_record> store::list_apps(const std::string& org_id) {
  auto out = read_all(
    db_.exec("SELECT " + app_columns + " FROM apps WHERE org_id = $1",
             {org_id}),
    read_app);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.id) < std::tie(b.name, b.id);
  });
  return out;
}

bool store::app_exists(const std::string& org_id, const std::string& id) {
  return has_row(db_, "SELECT 1 FROM apps WHERE org_id = $1 AND id = $2",
                 {org_id, id});
}

bool store::slug_taken(const std::string& org_id, const std::string& slug) {
  return has_row(db_, "SELECT 1 FROM apps WHERE org_id = $1 AND slug = $2",
                 {org_id, slug});
}

bool store::update_app(const app_record& a, const audit_record& audit) {
  return change_audited(db_,
                        "UPDATE apps SET name = $3, description = $4, "
                        "env = $5, is_active = $6, metadata = $7, "
                        "guardrails = $8, aliases = $9, cache = $10 "
                        "WHERE org_id = $1 AND id = $2 RETURNING id",
                        {a.org_id, a.id, a.name, a.description, a.env,
                         a.is_active, a.metadata_json, a.guardrails_json,
                         a.aliases_json, a.cache_json},
                        audit);
}

std::optional<std::vector<std::string>>
store::delete_app(const std::string& org_id, const std::string& id,
                  const audit_record& audit) {
  transaction tx(db_);
  if (!app_exists(org_id, id))
    return std::nullopt;
  db_.exec("DELETE FROM request_logs WHERE org_id = $1 AND app_id = $2",
           {org_id, id});
  db_.exec("DELETE FROM usage_counters WHERE org_id = $1 AND ("
           "(scope_type = 'app' AND scope_id = $2) OR "
           "(scope_type = 'key' AND scope_id IN "
           "(SELECT id FROM api_keys WHERE org_id = $1 AND app_id = $2)))",
           {org_id, id});
  // Deleted here rather than left to ON DELETE CASCADE, so that their
  // hashes are known.
  auto keys = db_.exec("DELETE FROM api_keys WHERE org_id = $1 "
                       "AND app_id = $2 RETURNING key_hash, previous_key_hash",
                       {org_id, id});
  db_.exec("DELETE FROM apps WHERE org_id = $1 AND id = $2", {org_id, id});
  insert_change_audit(db_, audit);
  tx.commit();
  return key_hashes(keys);
}

app_info store::app_counts(const std::string& org_id,
                           const std::string& app_id) {
  auto r = db_
             .exec("SELECT (SELECT COUNT(*) FROM api_keys "
                   "WHERE org_id = $1 AND app_id = $2), "
                   "(SELECT COUNT(*) FROM request_logs "
                   "WHERE org_id = $1 AND app_id = $2)",
                   {org_id, app_id})
             .at(0);
  return {r.int64(0), r.int64(1)};
}

} // namespace gatehouse::storage
