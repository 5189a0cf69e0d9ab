// The store's API keys and the key index.

#include "storage/store.hpp"

#include <stdexcept>
#include <string>

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

void store::insert_key(const api_key_record& key, const audit_record& audit) {
  write_audited(db_, audit, [&] { insert_key_row(db_, key); });
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
  return read_first(db_.exec("SELECT " + key_columns
                               + " FROM api_keys WHERE org_id = $1 AND id = $2",
                             {org_id, id}),
                    read_key);
}

bool store::revoke_key(const std::string& org_id, const std::string& id,
                       const std::string& now, const audit_record& audit) {
  return change_audited(db_,
                        "UPDATE api_keys SET status = 'revoked', "
                        "revoked_at = COALESCE(revoked_at, $3) "
                        "WHERE org_id = $1 AND id = $2 RETURNING id",
                        {org_id, id, now}, audit);
}

bool store::rotate_key(const std::string& org_id, const std::string& id,
                       const std::string& new_hash,
                       const std::string& new_prefix,
                       std::int64_t previous_valid_until,
                       const audit_record& audit) {
  // Every SET expression reads the row as it was, so key_hash on the right
  // is the old hash.
  return change_audited(
    db_,
    "UPDATE api_keys SET previous_key_hash = key_hash, "
    "previous_valid_until = $5, key_hash = $3, key_prefix = $4 "
    "WHERE org_id = $1 AND id = $2 AND status = 'active' RETURNING id",
    {org_id, id, new_hash, new_prefix, previous_valid_until}, audit);
}

std::vector<api_key_record> store::load_org_keys(const std::string& org_id) {
  return list_keys(org_id);
}

std::vector<key_index_entry> store::load_key_index(std::int64_t now_unix) {
  return load_key_index(now_unix, {}, 0);
}

std::vector<std::string> store::key_index_bounds(int parts) {
  if (parts < 1 || parts > 16)
    throw std::invalid_argument("key_index_bounds: 1 to 16 parts");
  std::vector<std::string> bounds;
  if (db_.dialect() != "sqlite") {
    static constexpr char digits[] = "0123456789abcdef";
    for (int i = 1; i < parts; ++i)
      bounds.emplace_back(1, digits[16 * i / parts]);
    return bounds;
  }
  // Row ids: a range of them is a range of the table's B-tree.
  auto rs = db_.exec("SELECT COALESCE(MIN(rowid), 0), COALESCE(MAX(rowid), 0) "
                     "FROM api_keys");
  const std::int64_t lo = rs.front().int64(0);
  const std::int64_t span = rs.front().int64(1) - lo + 1;
  for (int i = 1; i < parts; ++i)
    bounds.push_back(std::to_string(lo + span * i / parts));
  return bounds;
}

std::vector<key_index_entry>
store::load_key_index(std::int64_t now_unix,
                      const std::vector<std::string>& bounds, int part) {
  if (part < 0 || static_cast<std::size_t>(part) > bounds.size())
    throw std::invalid_argument("load_key_index: part out of range");
  // One pass over the table: a key still in its rotation overlap is found
  // under its previous hash too.
  std::string sql = "SELECT key_hash, org_id, previous_key_hash, "
                    "previous_valid_until FROM api_keys "
                    "WHERE status = 'active'";
  params args;
  const bool sqlite = db_.dialect() == "sqlite";
  auto bound = [&](std::size_t i) -> param {
    if (sqlite)
      return param(static_cast<std::int64_t>(std::stoll(bounds.at(i))));
    return param(bounds.at(i));
  };
  const std::string column = sqlite ? "rowid" : "key_hash";
  if (part > 0) {
    args.push_back(bound(static_cast<std::size_t>(part) - 1));
    sql += " AND " + column + " >= $" + std::to_string(args.size());
  }
  if (static_cast<std::size_t>(part) < bounds.size()) {
    args.push_back(bound(static_cast<std::size_t>(part)));
    sql += " AND " + column + " < $" + std::to_string(args.size());
  }
  auto rs = db_.exec(sql, args);
  std::vector<key_index_entry> out;
  out.reserve(rs.size());
  for (const auto& r : rs) {
    const auto& org = r.at(1);
    if (const auto& hash = r.at(0); hash && org)
      out.push_back({*hash, *org});
    if (const auto& previous = r.at(2);
        previous && org && r.opt_int64(3).value_or(0) > now_unix)
      out.push_back({*previous, *org});
  }
  return out;
}

std::int64_t store::count_active_keys(const std::string& org_id) {
  auto rs = db_.exec("SELECT COUNT(*) FROM api_keys "
                     "WHERE org_id = $1 AND status = 'active'",
                     {org_id});
  return rs.front().int64(0);
}

} // namespace gatehouse::storage
