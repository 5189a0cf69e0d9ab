#include "storage/store.hpp"

#include <algorithm>
#include <cctype>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <tuple>

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

// The same columns of `users u`, for joins.
const std::string user_columns_u = "u.id, u.email, u.display_name, "
                                   "u.password_hash, u.created_at";

const std::string membership_columns
  = "m.org_id, m.user_id, m.role, m.status, m.team_id, m.joined_at, "
    "m.last_active_at, m.last_used_at, m.invite_token_hash, m.invited_at";

// The number of membership_columns, for readers of joined rows.
constexpr std::size_t membership_width = 10;

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

user_record read_user(const row& r, std::size_t at = 0) {
  user_record u;
  u.id = r.text(at);
  u.email = r.text(at + 1);
  u.display_name = r.text(at + 2);
  u.password_hash = r.text(at + 3);
  u.created_at = r.text(at + 4);
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
  m.invite_token_hash = r.opt_text(at + 8);
  m.invited_at = r.opt_text(at + 9);
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
          "joined_at, last_active_at, last_used_at, invite_token_hash, "
          "invited_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {m.org_id, m.user_id, m.role, m.status, m.team_id,
           or_null(m.joined_at), m.last_active_at, m.last_used_at,
           m.invite_token_hash, m.invited_at});
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

// -- providers ----------------------------------------------------------------

const std::string provider_columns
  = "id, org_id, name, base_url, auth_mode, api_key_encrypted, "
    "api_key_last4, auth_header, auth_scheme, fallback, is_default, "
    "created_at, updated_at";

std::string encode_names(const std::vector<std::string>& names) {
  return nlohmann::json(names).dump();
}

std::vector<std::string> decode_names(const std::string& text,
                                      const char* column) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array())
    throw storage_error(std::string(column) + " is not a JSON array");
  std::vector<std::string> out;
  for (const auto& item : j) {
    if (item.is_string())
      out.push_back(item.get<std::string>());
  }
  return out;
}

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

// -- bulk inserts -------------------------------------------------------------

/// An INSERT of many rows, `width` parameters each, sent as statements of
/// up to 32 rows. Counts are split into powers of two, so that six
/// statement texts (each prepared once per connection) serve any batch.
class bulk_insert {
public:
  /// `head` is `INSERT INTO t (columns)`, `tail` what follows the VALUES
  /// list (an ON CONFLICT clause or nothing).
  bulk_insert(const std::string& head, std::size_t width,
              const std::string& tail)
    : width_(width) {
    for (std::size_t rows = 1; rows <= max_rows; rows *= 2) {
      std::string sql = head + " VALUES ";
      std::size_t n = 0;
      for (std::size_t r = 0; r < rows; ++r) {
        sql += r == 0 ? "(" : ", (";
        for (std::size_t c = 0; c < width; ++c) {
          if (c > 0)
            sql += ", ";
          sql += "$" + std::to_string(++n);
        }
        sql += ")";
      }
      sql += tail;
      sql_.push_back(std::move(sql));
    }
  }

  /// Inserts `count` rows; `append(i, args)` appends the parameters of
  /// row i.
  void run(database& db, std::size_t count,
           const std::function<void(std::size_t, params&)>& append) const {
    std::size_t done = 0;
    for (std::size_t k = sql_.size(); k-- > 0;) {
      const std::size_t rows = std::size_t{1} << k;
      while (count - done >= rows) {
        params args;
        args.reserve(rows * width_);
        for (std::size_t i = done; i < done + rows; ++i)
          append(i, args);
        db.exec(sql_[k], args);
        done += rows;
      }
    }
  }

private:
  // 32 rows of the widest table stay under SQLite's oldest limit of 999
  // parameters.
  static constexpr std::size_t max_rows = 32;
  std::size_t width_;
  std::vector<std::string> sql_; // [k]: 2^k rows
};

// -- request logs -------------------------------------------------------------

const std::string log_columns
  = "id, org_id, request_id, key_id, key_prefix, app_id, team_id, user_id, "
    "provider, model, method, path, status, error_code, tokens_in, "
    "tokens_out, cost_micros, usage_estimated, unpriced, latency_ms, "
    "ttft_ms, stream, session_id, end_user, metadata, env, request_body, "
    "response_body, created_at";

constexpr std::size_t log_width = 29;

void append_log(const request_log_record& l, params& args) {
  args.emplace_back(l.id);
  args.emplace_back(l.org_id);
  args.emplace_back(l.request_id);
  args.emplace_back(l.key_id);
  args.emplace_back(l.key_prefix);
  args.emplace_back(l.app_id);
  args.emplace_back(l.team_id);
  args.emplace_back(l.user_id);
  args.emplace_back(l.provider);
  args.emplace_back(l.model);
  args.emplace_back(l.method);
  args.emplace_back(l.path);
  args.emplace_back(l.status);
  args.emplace_back(l.error_code);
  args.emplace_back(l.tokens_in);
  args.emplace_back(l.tokens_out);
  args.emplace_back(l.cost_micros);
  args.emplace_back(l.usage_estimated);
  args.emplace_back(l.unpriced);
  args.emplace_back(l.latency_ms);
  args.emplace_back(l.ttft_ms);
  args.emplace_back(l.stream);
  args.emplace_back(l.session_id);
  args.emplace_back(l.end_user);
  args.emplace_back(l.metadata_json);
  args.emplace_back(l.env);
  args.emplace_back(l.request_body);
  args.emplace_back(l.response_body);
  args.emplace_back(l.created_at);
}

request_log_record read_log(const row& r) {
  request_log_record l;
  l.id = r.text(0);
  l.org_id = r.text(1);
  l.request_id = r.text(2);
  l.key_id = r.opt_text(3);
  l.key_prefix = r.opt_text(4);
  l.app_id = r.opt_text(5);
  l.team_id = r.opt_text(6);
  l.user_id = r.opt_text(7);
  l.provider = r.text(8);
  l.model = r.text(9);
  l.method = r.text(10);
  l.path = r.text(11);
  l.status = static_cast<int>(r.int64(12));
  l.error_code = r.opt_text(13);
  l.tokens_in = r.int64(14);
  l.tokens_out = r.int64(15);
  l.cost_micros = r.int64(16);
  l.usage_estimated = r.boolean(17);
  l.unpriced = r.boolean(18);
  l.latency_ms = r.int64(19);
  l.ttft_ms = r.opt_int64(20);
  l.stream = r.boolean(21);
  l.session_id = r.opt_text(22);
  l.end_user = r.opt_text(23);
  l.metadata_json = r.opt_text(24);
  l.env = r.opt_text(25);
  l.request_body = r.opt_text(26);
  l.response_body = r.opt_text(27);
  l.created_at = r.text(28);
  return l;
}

const bulk_insert& log_insert() {
  static const bulk_insert insert(
    "INSERT INTO request_logs (" + log_columns + ")", log_width, "");
  return insert;
}

const bulk_insert& counter_upsert() {
  static const bulk_insert insert(
    "INSERT INTO usage_counters (org_id, scope_type, scope_id, month, "
    "requests, tokens_in, tokens_out, cost_micros)",
    8,
    " ON CONFLICT (org_id, scope_type, scope_id, month) DO UPDATE SET "
    "requests = usage_counters.requests + excluded.requests, "
    "tokens_in = usage_counters.tokens_in + excluded.tokens_in, "
    "tokens_out = usage_counters.tokens_out + excluded.tokens_out, "
    "cost_micros = usage_counters.cost_micros + excluded.cost_micros");
  return insert;
}

/// `t` with its fraction of a second made exactly three digits when it is
/// an RFC 3339 UTC time ("...:20Z" -> "...:20.000Z"), so that it compares
/// as text with the stored millisecond times. Anything else (a date alone
/// already compares correctly) is left as it is.
std::string normalize_time(const std::string& t) {
  constexpr std::size_t seconds_end = 19; // "YYYY-MM-DDTHH:MM:SS"
  if (t.size() <= seconds_end || t[10] != 'T' || t.back() != 'Z')
    return t;
  std::string fraction;
  if (t.size() > seconds_end + 1) {
    if (t[seconds_end] != '.')
      return t;
    fraction = t.substr(seconds_end + 1, t.size() - seconds_end - 2);
    if (fraction.empty())
      return t;
    for (char c : fraction) {
      if (!std::isdigit(static_cast<unsigned char>(c)))
        return t;
    }
  }
  fraction.resize(3, '0');
  return t.substr(0, seconds_end) + "." + fraction + "Z";
}

// -- cursors ------------------------------------------------------------------

const char* const base64url_alphabet
  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url_encode(const std::string& in) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += base64url_alphabet[(acc >> bits) & 0x3F];
    }
  }
  if (bits > 0)
    out += base64url_alphabet[(acc << (6 - bits)) & 0x3F];
  return out;
}

/// Decodes unpadded base64url; nullopt for anything else.
std::optional<std::string> base64url_decode(const std::string& in) {
  if (in.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-')
      v = 62;
    else if (c == '_')
      v = 63;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  // Leftover bits must be zero, so that each position has one encoding.
  if ((acc & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

/// Where a page ended: the last row's creation time and id.
struct cursor_position {
  std::string created_at;
  std::string id;
};

/// The cursor of a page that ended at the row (`created_at`, `id`).
std::string encode_cursor(const std::string& created_at,
                          const std::string& id) {
  return base64url_encode(created_at + "|" + id);
}

cursor_position decode_cursor(const std::string& cursor) {
  auto text = base64url_decode(cursor);
  if (!text)
    throw bad_cursor("malformed cursor");
  for (char c : *text) {
    if (c < 0x20 || c > 0x7E)
      throw bad_cursor("malformed cursor");
  }
  auto bar = text->find('|');
  if (bar == std::string::npos || bar == 0 || bar + 1 == text->size())
    throw bad_cursor("malformed cursor");
  cursor_position at{text->substr(0, bar), text->substr(bar + 1)};
  if (at.created_at.size() < 20 || at.created_at[10] != 'T'
      || !std::isdigit(static_cast<unsigned char>(at.created_at[0])))
    throw bad_cursor("malformed cursor");
  return at;
}

// -- teams and apps -----------------------------------------------------------

const std::string team_columns = "id, org_id, name, description, "
                                 "monthly_spend_limit_micros, created_at";

const std::string app_columns
  = "id, org_id, name, slug, description, project_type, env, is_active, "
    "metadata, created_at";

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
  return a;
}

void insert_team_row(database& db, const team_record& t) {
  db.exec("INSERT INTO teams (" + team_columns
            + ") VALUES ($1, $2, $3, $4, $5, $6)",
          {t.id, t.org_id, t.name, t.description, t.monthly_spend_limit_micros,
           t.created_at});
}

void insert_app_row(database& db, const app_record& a) {
  db.exec("INSERT INTO apps (" + app_columns
            + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
          {a.id, a.org_id, a.name, a.slug, a.description, a.project_type, a.env,
           a.is_active, a.metadata_json, a.created_at});
}

// -- members ------------------------------------------------------------------

/// `s` with its ASCII letters in lower case. Case is folded here rather
/// than by the database so that both backends match alike.
std::string ascii_lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// True when `text` holds `lowered_needle` (already ASCII lower case),
/// ASCII case ignored.
bool holds_folded(const std::string& text, const std::string& lowered_needle) {
  return ascii_lower(text).find(lowered_needle) != std::string::npos;
}

// Members with their key counts, one scan of the organization's keys;
// $1 is the organization. Callers append conditions on m.
const std::string member_select
  = "SELECT " + user_columns_u + ", " + membership_columns
    + ", COALESCE(k.active_keys, 0), COALESCE(k.requests, 0) "
      "FROM memberships m JOIN users u ON u.id = m.user_id "
      "LEFT JOIN (SELECT user_id, "
      "SUM(CASE WHEN status = 'active' THEN 1 ELSE 0 END) AS active_keys, "
      "SUM(request_count) AS requests "
      "FROM api_keys WHERE org_id = $1 GROUP BY user_id) k "
      "ON k.user_id = m.user_id "
      "WHERE m.org_id = $1";

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

/// The hashes a set of keys answered to: each key's hash and its previous
/// hash, if any. Reads (key_hash, previous_key_hash) rows; sorted.
std::vector<std::string> key_hashes(const rows& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) {
    out.push_back(r.text(0));
    if (auto previous = r.opt_text(1))
      out.push_back(std::move(*previous));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// -- team rows ----------------------------------------------------------------

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

// -- audit --------------------------------------------------------------------

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

std::vector<member_row> store::list_members(const std::string& org_id,
                                            const member_query& query) {
  auto sort = member_sorts().find(query.sort);
  if (sort == member_sorts().end())
    throw std::invalid_argument("sort must be one of name, email, role, "
                                "status, last_active, joined_at");
  std::string sql = member_select;
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
  auto rs = db_.exec(member_select + " AND m.user_id = $2", {org_id, user_id});
  if (rs.empty())
    return std::nullopt;
  return read_member(rs.front());
}

void store::insert_invite(const user_record& user, bool new_user,
                          const membership_record& membership,
                          const audit_record& audit) {
  transaction tx(db_);
  if (new_user)
    insert_user_row(db_, user);
  insert_membership_row(db_, membership);
  insert_audit_row(db_, audit);
  tx.commit();
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
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

bool store::update_membership(const membership_record& m,
                              const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE memberships SET role = $3, status = $4, "
                     "team_id = $5, invite_token_hash = $6, invited_at = $7 "
                     "WHERE org_id = $1 AND user_id = $2 RETURNING user_id",
                     {m.org_id, m.user_id, m.role, m.status, m.team_id,
                      m.invite_token_hash, m.invited_at});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::optional<std::vector<std::string>>
store::delete_membership(const std::string& org_id, const std::string& user_id,
                         const std::string& now, const audit_record& audit) {
  transaction tx(db_);
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
  insert_audit_row(db_, audit);
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

void store::insert_provider(const provider_record& p,
                            const audit_record& audit) {
  transaction tx(db_);
  if (p.is_default)
    clear_default_provider(db_, p.org_id);
  db_.exec("INSERT INTO providers (" + provider_columns
             + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
               "$13)",
           {p.id, p.org_id, p.name, p.base_url, p.auth_mode,
            p.api_key_encrypted, p.api_key_last4, p.auth_header, p.auth_scheme,
            encode_names(p.fallback), p.is_default, p.created_at,
            p.updated_at});
  insert_audit_row(db_, audit);
  tx.commit();
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
           "auth_scheme = $9, fallback = $10, updated_at = $11 "
           "WHERE org_id = $1 AND id = $2",
           {p.org_id, p.id, p.name, p.base_url, p.auth_mode,
            p.api_key_encrypted, p.api_key_last4, p.auth_header, p.auth_scheme,
            encode_names(p.fallback), p.updated_at});
  auto old_name = old.front().text(0);
  if (old_name != p.name)
    rewrite_fallbacks(db_, p.org_id, old_name, p.name);
  insert_audit_row(db_, audit);
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
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::vector<provider_record> store::list_providers(const std::string& org_id) {
  auto rs = db_.exec("SELECT " + provider_columns
                       + " FROM providers WHERE org_id = $1",
                     {org_id});
  std::vector<provider_record> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read_provider(r));
  // Sorted here: the database's collation need not be byte order.
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

std::optional<provider_record> store::find_provider(const std::string& org_id,
                                                    const std::string& name) {
  auto rs = db_.exec("SELECT " + provider_columns
                       + " FROM providers WHERE org_id = $1 AND name = $2",
                     {org_id, name});
  if (rs.empty())
    return std::nullopt;
  return read_provider(rs.front());
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
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::int64_t store::count_providers(const std::string& org_id) {
  return db_.exec("SELECT COUNT(*) FROM providers WHERE org_id = $1", {org_id})
    .front()
    .int64(0);
}

void store::write_batch(const std::vector<request_log_record>& logs,
                        const std::vector<usage_delta>& deltas,
                        const std::vector<key_use>& uses) {
  // One row per counter and per key: PostgreSQL refuses to upsert a row
  // twice in one statement. Sorted keys also make concurrent batches lock
  // rows in the same order.
  std::map<std::tuple<std::string, std::string, std::string, std::string>,
           usage_delta>
    counters;
  for (const auto& d : deltas) {
    auto [it, fresh] = counters.try_emplace(
      std::make_tuple(d.org_id, d.scope_type, d.scope_id, d.month), d);
    if (!fresh) {
      it->second.requests += d.requests;
      it->second.tokens_in += d.tokens_in;
      it->second.tokens_out += d.tokens_out;
      it->second.cost_micros += d.cost_micros;
    }
  }
  std::map<std::pair<std::string, std::string>, key_use> keys;
  for (const auto& u : uses) {
    auto [it, fresh] = keys.try_emplace(std::make_pair(u.org_id, u.key_id), u);
    if (!fresh) {
      it->second.requests += u.requests;
      if (u.last_used_at > it->second.last_used_at)
        it->second.last_used_at = u.last_used_at;
    }
  }
  std::vector<const usage_delta*> merged;
  merged.reserve(counters.size());
  for (const auto& entry : counters)
    merged.push_back(&entry.second);

  transaction tx(db_);
  log_insert().run(db_, logs.size(), [&](std::size_t i, params& args) {
    append_log(logs[i], args);
  });
  counter_upsert().run(db_, merged.size(), [&](std::size_t i, params& args) {
    const auto& d = *merged[i];
    args.emplace_back(d.org_id);
    args.emplace_back(d.scope_type);
    args.emplace_back(d.scope_id);
    args.emplace_back(d.month);
    args.emplace_back(d.requests);
    args.emplace_back(d.tokens_in);
    args.emplace_back(d.tokens_out);
    args.emplace_back(d.cost_micros);
  });
  for (const auto& [id, u] : keys) {
    db_.exec("UPDATE api_keys SET last_used_at = CASE "
             "WHEN last_used_at IS NULL OR last_used_at < $3 THEN $3 "
             "ELSE last_used_at END, "
             "request_count = request_count + $4 "
             "WHERE org_id = $1 AND id = $2",
             {u.org_id, u.key_id, u.last_used_at, u.requests});
  }
  tx.commit();
}

log_page store::query_logs(const std::string& org_id, const log_filter& filter,
                           const std::optional<std::string>& cursor,
                           int limit) {
  limit = std::clamp(limit, 1, max_log_page);
  std::string sql
    = "SELECT " + log_columns + " FROM request_logs WHERE org_id = $1";
  params args{org_id};
  // Column names come from this list only, never from the filter's values.
  auto where = [&](const char* condition, param value) {
    args.push_back(std::move(value));
    sql += " AND ";
    sql += condition;
    sql += " $" + std::to_string(args.size());
  };
  if (filter.app_id)
    where("app_id =", *filter.app_id);
  if (filter.team_id)
    where("team_id =", *filter.team_id);
  if (filter.key_id)
    where("key_id =", *filter.key_id);
  if (filter.provider)
    where("provider =", *filter.provider);
  if (filter.model)
    where("model =", *filter.model);
  if (filter.session_id)
    where("session_id =", *filter.session_id);
  if (filter.status)
    where("status =", *filter.status);
  if (filter.from)
    where("created_at >=", normalize_time(*filter.from));
  if (filter.to)
    where("created_at <", normalize_time(*filter.to));
  if (cursor) {
    auto at = decode_cursor(*cursor);
    args.emplace_back(std::move(at.created_at));
    args.emplace_back(std::move(at.id));
    sql += " AND (created_at, id) < ($" + std::to_string(args.size() - 1)
           + ", $" + std::to_string(args.size()) + ")";
  }
  // One row more than asked tells whether another page follows.
  args.emplace_back(limit + 1);
  sql += " ORDER BY created_at DESC, id DESC LIMIT $"
         + std::to_string(args.size());

  auto rs = db_.exec(sql, args);
  log_page page;
  const auto wanted = static_cast<std::size_t>(limit);
  page.logs.reserve(std::min(rs.size(), wanted));
  for (std::size_t i = 0; i < rs.size() && i < wanted; ++i)
    page.logs.push_back(read_log(rs[i]));
  if (rs.size() > wanted)
    page.next_cursor
      = encode_cursor(page.logs.back().created_at, page.logs.back().id);
  return page;
}

std::vector<usage_row> store::usage_report(const std::string& org_id,
                                           const std::string& group_by,
                                           const std::string& from,
                                           const std::string& to) {
  static const std::map<std::string, std::string> groups = {
    {"day", "SUBSTR(created_at, 1, 10)"},
    {"app", "app_id"},
    {"team", "team_id"},
    {"key", "key_id"},
    {"model", "model"},
    {"provider", "provider"},
  };
  auto group = groups.find(group_by);
  if (group == groups.end())
    throw std::invalid_argument("group_by must be one of day, app, team, "
                                "key, model, provider");
  const std::string expr = "COALESCE(" + group->second + ", '')";
  std::string sql = "SELECT " + expr
                    + ", COUNT(*), SUM(tokens_in), SUM(tokens_out), "
                      "SUM(cost_micros), SUM(unpriced) "
                      "FROM request_logs WHERE org_id = $1";
  params args{org_id};
  if (!from.empty()) {
    args.emplace_back(normalize_time(from));
    sql += " AND created_at >= $" + std::to_string(args.size());
  }
  if (!to.empty()) {
    args.emplace_back(normalize_time(to));
    sql += " AND created_at < $" + std::to_string(args.size());
  }
  sql += " GROUP BY " + expr;
  auto rs = db_.exec(sql, args);
  std::vector<usage_row> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(
      {r.text(0), r.int64(1), r.int64(2), r.int64(3), r.int64(4), r.int64(5)});
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.group < b.group; });
  return out;
}

std::vector<usage_delta> store::load_month_usage(const std::string& org_id,
                                                 const std::string& month) {
  auto rs = db_.exec("SELECT org_id, scope_type, scope_id, month, requests, "
                     "tokens_in, tokens_out, cost_micros FROM usage_counters "
                     "WHERE org_id = $1 AND month = $2",
                     {org_id, month});
  std::vector<usage_delta> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back({r.text(0), r.text(1), r.text(2), r.text(3), r.int64(4),
                   r.int64(5), r.int64(6), r.int64(7)});
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.scope_type, a.scope_id)
           < std::tie(b.scope_type, b.scope_id);
  });
  return out;
}

std::map<std::string, std::int64_t>
store::team_month_spend(const std::string& org_id, const std::string& month) {
  auto rs = db_.exec("SELECT scope_id, cost_micros FROM usage_counters "
                     "WHERE org_id = $1 AND month = $2 AND scope_type = 'team'",
                     {org_id, month});
  std::map<std::string, std::int64_t> out;
  for (const auto& r : rs)
    out.emplace(r.text(0), r.int64(1));
  return out;
}

std::int64_t store::delete_logs_before(const std::string& org_id,
                                       const std::string& cutoff) {
  constexpr std::size_t batch = 5000;
  static const std::string sql
    = "DELETE FROM request_logs WHERE id IN (SELECT id FROM request_logs "
      "WHERE org_id = $1 AND created_at < $2 LIMIT "
      + std::to_string(batch) + ") RETURNING 1";
  const auto bound = normalize_time(cutoff);
  std::int64_t deleted = 0;
  for (;;) {
    auto rs = db_.exec(sql, {org_id, bound});
    deleted += static_cast<std::int64_t>(rs.size());
    if (rs.size() < batch)
      return deleted;
  }
}

std::vector<price_override>
store::list_price_overrides(const std::string& org_id) {
  auto rs = db_.exec("SELECT model, input_micros_per_mtok, "
                     "output_micros_per_mtok FROM pricing WHERE org_id = $1",
                     {org_id});
  std::vector<price_override> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back({r.text(0), r.int64(1), r.int64(2)});
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.model < b.model; });
  return out;
}

void store::replace_price_overrides(const std::string& org_id,
                                    const std::vector<price_override>& prices,
                                    const audit_record& audit) {
  transaction tx(db_);
  db_.exec("DELETE FROM pricing WHERE org_id = $1", {org_id});
  for (const auto& p : prices)
    db_.exec(
      "INSERT INTO pricing (org_id, model, input_micros_per_mtok, "
      "output_micros_per_mtok) VALUES ($1, $2, $3, $4)",
      {org_id, p.model, p.input_micros_per_mtok, p.output_micros_per_mtok});
  insert_audit_row(db_, audit);
  tx.commit();
}

void store::insert_team(const team_record& team) {
  insert_team_row(db_, team);
}

void store::insert_team(const team_record& team, const audit_record& audit) {
  transaction tx(db_);
  insert_team_row(db_, team);
  insert_audit_row(db_, audit);
  tx.commit();
}

std::optional<team_record> store::find_team(const std::string& org_id,
                                            const std::string& id) {
  auto rs = db_.exec("SELECT " + team_columns
                       + " FROM teams WHERE org_id = $1 AND id = $2",
                     {org_id, id});
  if (rs.empty())
    return std::nullopt;
  return read_team(rs.front());
}

std::vector<team_record> store::list_teams(const std::string& org_id) {
  auto rs = db_.exec("SELECT " + team_columns + " FROM teams WHERE org_id = $1",
                     {org_id});
  std::vector<team_record> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read_team(r));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void store::insert_app(const app_record& app) {
  insert_app_row(db_, app);
}

void store::insert_app(const app_record& app, const audit_record& audit) {
  transaction tx(db_);
  insert_app_row(db_, app);
  insert_audit_row(db_, audit);
  tx.commit();
}

std::optional<app_record> store::find_app(const std::string& org_id,
                                          const std::string& id) {
  auto rs = db_.exec("SELECT " + app_columns
                       + " FROM apps WHERE org_id = $1 AND id = $2",
                     {org_id, id});
  if (rs.empty())
    return std::nullopt;
  return read_app(rs.front());
}

std::vector<app_record> store::list_apps(const std::string& org_id) {
  auto rs = db_.exec("SELECT " + app_columns + " FROM apps WHERE org_id = $1",
                     {org_id});
  std::vector<app_record> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(read_app(r));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.id) < std::tie(b.name, b.id);
  });
  return out;
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
  auto rs = db_.exec(team_row_select + " AND t.id = $2", {org_id, id});
  if (rs.empty())
    return std::nullopt;
  return read_team_row(rs.front());
}

bool store::update_team(const team_record& t, const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec(
    "UPDATE teams SET name = $3, description = $4, "
    "monthly_spend_limit_micros = $5 "
    "WHERE org_id = $1 AND id = $2 RETURNING id",
    {t.org_id, t.id, t.name, t.description, t.monthly_spend_limit_micros});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
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
  insert_audit_row(db_, audit);
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

bool store::slug_taken(const std::string& org_id, const std::string& slug) {
  return !db_
            .exec("SELECT 1 FROM apps WHERE org_id = $1 AND slug = $2",
                  {org_id, slug})
            .empty();
}

bool store::update_app(const app_record& a, const audit_record& audit) {
  transaction tx(db_);
  auto rs = db_.exec("UPDATE apps SET name = $3, description = $4, env = $5, "
                     "is_active = $6, metadata = $7 "
                     "WHERE org_id = $1 AND id = $2 RETURNING id",
                     {a.org_id, a.id, a.name, a.description, a.env, a.is_active,
                      a.metadata_json});
  if (rs.empty())
    return false;
  insert_audit_row(db_, audit);
  tx.commit();
  return true;
}

std::optional<std::vector<std::string>>
store::delete_app(const std::string& org_id, const std::string& id,
                  const audit_record& audit) {
  transaction tx(db_);
  if (db_.exec("SELECT 1 FROM apps WHERE org_id = $1 AND id = $2", {org_id, id})
        .empty())
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
  insert_audit_row(db_, audit);
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

  auto rs = db_.exec(sql, args);
  audit_page page;
  const auto wanted = static_cast<std::size_t>(limit);
  page.entries.reserve(std::min(rs.size(), wanted));
  for (std::size_t i = 0; i < rs.size() && i < wanted; ++i)
    page.entries.push_back(read_audit(rs[i]));
  if (rs.size() > wanted)
    page.next_cursor
      = encode_cursor(page.entries.back().created_at, page.entries.back().id);
  return page;
}

std::vector<std::string> store::list_org_ids() {
  auto rs = db_.exec("SELECT id FROM orgs ORDER BY created_at, id");
  std::vector<std::string> out;
  out.reserve(rs.size());
  for (const auto& r : rs)
    out.push_back(r.text(0));
  return out;
}

bool store::ping() noexcept {
  try {
    return db_.exec("SELECT 1").size() == 1;
  } catch (...) {
    return false;
  }
}

} // namespace gatehouse::storage
