// The store's API keys and the key index.

#include "storage/store.hpp"

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
  return read_all(
    db_.exec("SELECT key_hash, org_id FROM api_keys WHERE status = 'active' "
             "UNION ALL "
             "SELECT previous_key_hash, org_id FROM api_keys "
             "WHERE status = 'active' AND previous_key_hash IS NOT NULL "
             "AND previous_valid_until > $1",
             {now_unix}),
    [](const row& r) {
      return key_index_entry{r.text(0), r.text(1)};
    });
}

std::int64_t store::count_active_keys(const std::string& org_id) {
  auto rs = db_.exec("SELECT COUNT(*) FROM api_keys "
                     "WHERE org_id = $1 AND status = 'active'",
                     {org_id});
  return rs.front().int64(0);
}

} // namespace gatehouse::storage
