// The store's audit log.

#include "storage/store.hpp"

#include <algorithm>

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

const std::string audit_columns
  = "id, org_id, actor_type, actor_id, action, target_type, target_id, "
    "before, after, ip, created_at";

// created_at as normalize_time writes it (a fraction of exactly three
// digits), so that entries stored with and without milliseconds order as
// instants. Must stay identical to the expression of the index
// audit_log_by_org_time (migration 3), or the index goes unused.
const std::string audit_time
  = "(SUBSTR(created_at, 1, 19) || '.' || "
    "SUBSTR(REPLACE(SUBSTR(created_at, 21), 'Z', '') || '000', 1, 3) || 'Z')";

audit_record read_audit(const row& r) {
  audit_record a;
  a.id = r.text(0);
  a.org_id = r.text(1);
  a.actor_type = r.text(2);
  a.actor_id = r.text(3);
  a.action = r.text(4);
  a.target_type = r.text(5);
  a.target_id = r.text(6);
  a.before_json = r.opt_text(7);
  a.after_json = r.opt_text(8);
  a.ip = r.text(9);
  a.created_at = r.text(10);
  return a;
}

} // namespace

void store::insert_audit(const audit_record& audit) {
  insert_audit_row(db_, audit);
}

audit_page store::query_audit(const std::string& org_id,
                              const audit_filter& filter,
                              const std::optional<std::string>& cursor,
                              int limit) {
  limit = std::clamp(limit, 1, max_audit_page);
  std::string sql
    = "SELECT " + audit_columns + " FROM audit_log WHERE org_id = $1";
  params args{org_id};
  // Column expressions come from this function only, never from the
  // filter's values.
  auto where = [&](const std::string& condition, param value) {
    args.push_back(std::move(value));
    sql += " AND " + condition + " $" + std::to_string(args.size());
  };
  if (filter.actor_id)
    where("actor_id =", *filter.actor_id);
  if (filter.action)
    where("action =", *filter.action);
  if (filter.target_type)
    where("target_type =", *filter.target_type);
  if (filter.target_id)
    where("target_id =", *filter.target_id);
  if (filter.from)
    where(audit_time + " >=", normalize_time(*filter.from));
  if (filter.to)
    where(audit_time + " <", normalize_time(*filter.to));
  if (cursor) {
    auto at = decode_cursor(*cursor);
    args.emplace_back(normalize_time(at.created_at));
    args.emplace_back(std::move(at.id));
    sql += " AND (" + audit_time + ", id) < ($"
           + std::to_string(args.size() - 1) + ", $"
           + std::to_string(args.size()) + ")";
  }
  // One row more than asked tells whether another page follows.
  args.emplace_back(limit + 1);
  sql += " ORDER BY " + audit_time + " DESC, id DESC LIMIT $"
         + std::to_string(args.size());

  auto [entries, next] = read_page(db_.exec(sql, args), limit, read_audit);
  return {std::move(entries), std::move(next)};
}

} // namespace gatehouse::storage
