#pragma once

// Internal to the store's implementation files: the column lists, row
// readers and row writers that several of them share. Not part of the
// storage layer's interface.

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/database.hpp"
#include "storage/records.hpp"

namespace gatehouse::storage::detail {

// -- column lists -------------------------------------------------------------
// The row readers below depend on their order.

/// The columns of `orgs o`.
extern const std::string org_columns;

/// The columns of `users`.
extern const std::string user_columns;

/// The same columns of `users u`, for joins.
extern const std::string user_columns_u;

/// The columns of `memberships m`.
extern const std::string membership_columns;

/// The number of membership_columns, for readers of joined rows.
constexpr std::size_t membership_width = 10;

/// The number of org_columns, for readers of joined rows.
constexpr std::size_t org_width = 8;

/// The columns of `api_keys`.
extern const std::string key_columns;

// -- values -------------------------------------------------------------------

/// NULL for the empty string.
param or_null(const std::string& s);

/// A list of names as its JSON array text.
std::string encode_names(const std::vector<std::string>& names);

/// The strings of the JSON array `text`, read from `column` (named in the
/// storage_error thrown when it is not an array).
std::vector<std::string> decode_names(const std::string& text,
                                      const char* column);

/// `t` with its fraction of a second made exactly three digits when it is
/// an RFC 3339 UTC time ("...:20Z" -> "...:20.000Z"), so that it compares
/// as text with the stored millisecond times. Anything else (a date alone
/// already compares correctly) is left as it is.
std::string normalize_time(const std::string& t);

/// `s` with its ASCII letters in lower case. Case is folded here rather
/// than by the database so that both backends match alike.
std::string ascii_lower(std::string s);

/// True when `text` holds `lowered_needle` (already ASCII lower case),
/// ASCII case ignored.
bool holds_folded(const std::string& text, const std::string& lowered_needle);

// -- row readers --------------------------------------------------------------

/// An organization from org_columns starting at column `at`.
org_record read_org(const row& r, std::size_t at = 0);

/// A user from user_columns (or user_columns_u) starting at column `at`.
user_record read_user(const row& r, std::size_t at = 0);

/// A membership from membership_columns starting at column `at`.
membership_record read_membership(const row& r, std::size_t at = 0);

/// A key from key_columns.
api_key_record read_key(const row& r);

/// Keys from key_columns rows.
std::vector<api_key_record> read_keys(const rows& rs);

/// The hashes a set of keys answered to: each key's hash and its previous
/// hash, if any. Reads (key_hash, previous_key_hash) rows; sorted.
std::vector<std::string> key_hashes(const rows& rs);

/// The first row of `rs` read by `read`; nullopt when there is none.
template <class Read>
auto read_first(const rows& rs, Read read)
  -> std::optional<decltype(read(rs.front()))> {
  if (rs.empty())
    return std::nullopt;
  return read(rs.front());
}

/// Every row of `rs` read by `read`, in order.
template <class Read>
auto read_all(const rows& rs, Read read)
  -> std::vector<decltype(read(rs.front()))> {
  std::vector<decltype(read(rs.front()))> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read(r));
  return out;
}

// -- row writers --------------------------------------------------------------

void insert_org_row(database& db, const org_record& o);
void insert_user_row(database& db, const user_record& u);
void insert_membership_row(database& db, const membership_record& m);
void insert_key_row(database& db, const api_key_record& k);
void insert_audit_row(database& db, const audit_record& a);

/// The channel on which PostgreSQL announces a committed change of an
/// organization (see record_org_change).
inline constexpr const char* org_change_channel = "gatehouse_org_changes";

/// Appends a change of `org_id` to the change log inside the open
/// transaction and, on PostgreSQL, notifies org_change_channel: the
/// notification is sent at commit, so it never precedes its row. The lock
/// (SQLite: the write transaction itself) makes rows commit in the order of
/// their numbers, so a reader that remembers the last number it saw misses
/// none.
void record_org_change(database& db, const std::string& org_id,
                       const std::string& at);

/// Records `audit` and, when it concerns an organization, logs the change
/// of that organization (record_org_change); inside an open transaction.
void insert_change_audit(database& db, const audit_record& audit);

/// Runs `write()` and records `audit` as a change, in one transaction.
template <class Write>
void write_audited(database& db, const audit_record& audit, Write&& write) {
  transaction tx(db);
  write();
  insert_change_audit(db, audit);
  tx.commit();
}

/// Runs `sql`, a statement with a RETURNING clause, and records `audit`
/// as a change when it returned a row, in one transaction. False (and no
/// change) when it returned none.
bool change_audited(database& db, std::string_view sql, const params& args,
                    const audit_record& audit);

// -- cursors ------------------------------------------------------------------

/// Where a page ended: the last row's creation time and id.
struct cursor_position {
  std::string created_at;
  std::string id;
};

/// The cursor of a page that ended at the row (`created_at`, `id`).
std::string encode_cursor(const std::string& created_at, const std::string& id);

/// The position of a cursor encode_cursor issued; throws bad_cursor for
/// anything else.
cursor_position decode_cursor(const std::string& cursor);

/// A page read from `rs`, the result of a query for `limit` + 1 rows:
/// the first `limit` rows read by `read`, and the cursor of the next page
/// when the extra row came back. Records have a created_at and an id.
template <class Read>
auto read_page(const rows& rs, int limit, Read read)
  -> std::pair<std::vector<decltype(read(rs.front()))>,
               std::optional<std::string>> {
  std::pair<std::vector<decltype(read(rs.front()))>, std::optional<std::string>>
    page;
  auto& entries = page.first;
  const auto wanted = static_cast<std::size_t>(limit);
  entries.reserve(std::min(rs.size(), wanted));
  for (std::size_t i = 0; i < rs.size() && i < wanted; ++i)
    entries.push_back(read(rs[i]));
  if (rs.size() > wanted)
    page.second = encode_cursor(entries.back().created_at, entries.back().id);
  return page;
}

} // namespace gatehouse::storage::detail
