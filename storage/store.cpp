// The store's signup, users and organizations, and its liveness check.
// The other domains live in the store_*.cpp files beside this one.

#include "storage/store.hpp"

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

// The row readers of users and organizations alone, as read_first and
// read_all take them.

user_record read_whole_user(const row& r) {
  return read_user(r);
}

org_record read_whole_org(const row& r) {
  return read_org(r);
}

} // namespace

void store::create_signup(const org_record& org, const user_record& user,
                          bool new_user, const membership_record& membership,
                          const api_key_record& key,
                          const audit_record& audit) {
  write_audited(db_, audit, [&] {
    insert_org_row(db_, org);
    if (new_user)
      insert_user_row(db_, user);
    insert_membership_row(db_, membership);
    insert_key_row(db_, key);
  });
}

std::optional<user_record> store::find_user_by_email(const std::string& email) {
  return read_first(
    db_.exec("SELECT " + user_columns + " FROM users WHERE email = $1",
             {email}),
    read_whole_user);
}

std::optional<user_record> store::find_user(const std::string& id) {
  return read_first(
    db_.exec("SELECT " + user_columns + " FROM users WHERE id = $1", {id}),
    read_whole_user);
}

std::optional<org_record> store::find_org(const std::string& id) {
  return read_first(
    db_.exec("SELECT " + org_columns + " FROM orgs o WHERE o.id = $1", {id}),
    read_whole_org);
}

std::optional<org_record> store::find_org_by_slug(const std::string& slug) {
  return read_first(
    db_.exec("SELECT " + org_columns + " FROM orgs o WHERE o.slug = $1",
             {slug}),
    read_whole_org);
}

std::vector<org_record> store::list_orgs() {
  return read_all(db_.exec("SELECT " + org_columns
                           + " FROM orgs o ORDER BY o.created_at, o.id"),
                  read_whole_org);
}

bool store::update_org(const org_record& org, const audit_record& audit) {
  return change_audited(db_,
                        "UPDATE orgs SET name = $2, settings = $3, "
                        "guardrails = $4, aliases = $5 WHERE id = $1 "
                        "RETURNING id",
                        {org.id, org.name, org.settings_json,
                         org.guardrails_json, org.aliases_json},
                        audit);
}

bool store::set_org_plan(const std::string& org_id, const std::string& plan,
                         const audit_record& audit) {
  return change_audited(db_,
                        "UPDATE orgs SET plan = $2 WHERE id = $1 RETURNING id",
                        {org_id, plan}, audit);
}

std::vector<org_change> store::org_changes_after(std::int64_t seq,
                                                 int limit) {
  return read_all(db_.exec("SELECT seq, org_id FROM org_changes "
                           "WHERE seq > $1 ORDER BY seq LIMIT $2",
                           {seq, limit}),
                  [](const row& r) {
                    return org_change{r.int64(0), r.text(1)};
                  });
}

std::int64_t store::last_org_change() {
  auto r = db_.exec("SELECT MAX(seq) FROM org_changes");
  return r.empty() || r[0].is_null(0) ? 0 : r[0].int64(0);
}

std::int64_t store::prune_org_changes(const std::string& before) {
  return static_cast<std::int64_t>(
    db_.exec("DELETE FROM org_changes WHERE created_at < $1 RETURNING seq",
             {before})
      .size());
}

std::vector<std::string> store::list_org_ids() {
  return read_all(db_.exec("SELECT id FROM orgs ORDER BY created_at, id"),
                  [](const row& r) { return r.text(0); });
}

bool store::ping() noexcept {
  try {
    return db_.exec("SELECT 1").size() == 1;
  } catch (...) {
    return false;
  }
}

} // namespace gatehouse::storage
