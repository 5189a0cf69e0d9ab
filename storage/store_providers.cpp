// The store's providers and price overrides.

#include "storage/store.hpp"

#include <algorithm>

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

const std::string provider_columns
  = "id, org_id, name, base_url, auth_mode, api_key_encrypted, "
    "api_key_last4, auth_header, auth_scheme, fallback, is_default, "
    "created_at, updated_at, format";

provider_record read_provider(const row& r) {
  provider_record p;
  p.id = r.text(0);
  p.org_id = r.text(1);
  p.name = r.text(2);
  p.base_url = r.text(3);
  p.auth_mode = r.text(4);
  p.api_key_encrypted = r.opt_text(5);
  p.api_key_last4 = r.opt_text(6);
  p.auth_header = r.text(7);
  p.auth_scheme = r.text(8);
  p.fallback = decode_names(r.text(9), "providers.fallback");
  p.is_default = r.boolean(10);
  p.created_at = r.text(11);
  p.updated_at = r.text(12);
  p.format = r.opt_text(13);
  return p;
}

/// Clears the organization's default provider. Every row of the
/// organization is written, not only the flagged one, so that on
/// PostgreSQL a concurrent change of the default is waited for and
/// cleared too rather than left beside the new one.
void clear_default_provider(database& db, const std::string& org_id) {
  db.exec("UPDATE providers SET is_default = 0 WHERE org_id = $1", {org_id});
}

/// Replaces `old_name` by `new_name` (or removes it when nullopt) in the
/// fallback lists of the organization's providers.
void rewrite_fallbacks(database& db, const std::string& org_id,
                       const std::string& old_name,
                       const std::optional<std::string>& new_name) {
  auto rs
    = db.exec("SELECT id, fallback FROM providers WHERE org_id = $1", {org_id});
  for (const auto& r : rs) {
    auto names = decode_names(r.text(1), "providers.fallback");
    if (std::find(names.begin(), names.end(), old_name) == names.end())
      continue;
    std::vector<std::string> next;
    for (auto& n : names) {
      if (n == old_name) {
        if (!new_name)
          continue;
        n = *new_name;
      }
      if (std::find(next.begin(), next.end(), n) == next.end())
        next.push_back(std::move(n));
    }
    db.exec("UPDATE providers SET fallback = $3 WHERE org_id = $1 AND id = $2",
            {org_id, r.text(0), encode_names(next)});
  }
}

} // namespace

void store::insert_provider(const provider_record& p,
                            const audit_record& audit) {
  write_audited(db_, audit, [&] {
    if (p.is_default)
      clear_default_provider(db_, p.org_id);
    db_.exec("INSERT INTO providers (" + provider_columns
               + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                 "$12, $13, $14)",
             {p.id, p.org_id, p.name, p.base_url, p.auth_mode,
              p.api_key_encrypted, p.api_key_last4, p.auth_header,
              p.auth_scheme, encode_names(p.fallback), p.is_default,
              p.created_at, p.updated_at, p.format});
  });
}

bool store::update_provider(const provider_record& p,
                            const audit_record& audit) {
  transaction tx(db_);
  auto old = db_.exec("SELECT name FROM providers "
                      "WHERE org_id = $1 AND id = $2",
                      {p.org_id, p.id});
  if (old.empty())
    return false;
  db_.exec("UPDATE providers SET name = $3, base_url = $4, auth_mode = $5, "
           "api_key_encrypted = $6, api_key_last4 = $7, auth_header = $8, "
           "auth_scheme = $9, fallback = $10, updated_at = $11, "
           "format = $12 WHERE org_id = $1 AND id = $2",
           {p.org_id, p.id, p.name, p.base_url, p.auth_mode,
            p.api_key_encrypted, p.api_key_last4, p.auth_header, p.auth_scheme,
            encode_names(p.fallback), p.updated_at, p.format});
  auto old_name = old.front().text(0);
  if (old_name != p.name)
    rewrite_fallbacks(db_, p.org_id, old_name, p.name);
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

bool store::delete_provider(const std::string& org_id, const std::string& name,
                            const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("DELETE FROM providers WHERE org_id = $1 AND name = $2 "
                     "RETURNING id",
                     {org_id, name});
  if (rs.empty())
    return false;
  rewrite_fallbacks(db_, org_id, name, std::nullopt);
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

std::vector<provider_record> store::list_providers(const std::string& org_id) {
  auto out = read_all(
    db_.exec("SELECT " + provider_columns + " FROM providers WHERE org_id = $1",
             {org_id}),
    read_provider);
  // Sorted here: the database's collation need not be byte order.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<provider_record> store::find_provider(const std::string& org_id,
                                                    const std::string& name) {
  return read_first(db_.exec("SELECT " + provider_columns
                               + " FROM providers WHERE org_id = $1 "
                                 "AND name = $2",
                             {org_id, name}),
                    read_provider);
}

bool store::set_default_provider(const std::string& org_id,
                                 const std::string& name,
                                 const audit_record& audit) {
  transaction tx(db_);
  clear_default_provider(db_, org_id);
  auto rs = db_.exec("UPDATE providers SET is_default = 1 "
                     "WHERE org_id = $1 AND name = $2 RETURNING id",
                     {org_id, name});
  if (rs.empty())
    return false; // rolls the clearing back
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

std::int64_t store::count_providers(const std::string& org_id) {
  return db_.exec("SELECT COUNT(*) FROM providers WHERE org_id = $1", {org_id})
    .front()
    .int64(0);
}

std::vector<price_override>
store::list_price_overrides(const std::string& org_id) {
  auto out
    = read_all(db_.exec("SELECT model, input_micros_per_mtok, "
                        "output_micros_per_mtok FROM pricing WHERE org_id = $1",
                        {org_id}),
               [](const row& r) {
                 return price_override{r.text(0), r.int64(1), r.int64(2)};
               });
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.model < b.model; });
  return out;
}

void store::replace_price_overrides(const std::string& org_id,
                                    const std::vector<price_override>& prices,
                                    const audit_record& audit) {
  write_audited(db_, audit, [&] {
    db_.exec("DELETE FROM pricing WHERE org_id = $1", {org_id});
    for (const auto& p : prices)
      db_.exec(
        "INSERT INTO pricing (org_id, model, input_micros_per_mtok, "
        "output_micros_per_mtok) VALUES ($1, $2, $3, $4)",
        {org_id, p.model, p.input_micros_per_mtok, p.output_micros_per_mtok});
  });
}

} // namespace gatehouse::storage
