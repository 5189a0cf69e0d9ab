#include "storage/store_rows.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace gatehouse::storage::detail {

const std::string org_columns = "o.id, o.slug, o.name, o.plan, o.settings, "
                                "o.created_at, o.guardrails, o.aliases";

const std::string user_columns = "id, email, display_name, password_hash, "
                                 "created_at";

const std::string user_columns_u = "u.id, u.email, u.display_name, "
                                   "u.password_hash, u.created_at";

const std::string membership_columns
  = "m.org_id, m.user_id, m.role, m.status, m.team_id, m.joined_at, "
    "m.last_active_at, m.last_used_at, m.invite_token_hash, m.invited_at";

const std::string key_columns
  = "id, org_id, user_id, name, key_hash, key_prefix, previous_key_hash, "
    "previous_valid_until, scopes, app_id, team_id, rate_limit_rpm, status, "
    "created_at, expires_at, revoked_at, last_used_at, request_count, "
    "guardrails";

// -- values -------------------------------------------------------------------

param or_null(const std::string& s) {
  return s.empty() ? param() : param(s);
}

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

std::string ascii_lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool holds_folded(const std::string& text, const std::string& lowered_needle) {
  return ascii_lower(text).find(lowered_needle) != std::string::npos;
}

// -- row readers --------------------------------------------------------------

org_record read_org(const row& r, std::size_t at) {
  org_record o;
  o.id = r.text(at);
  o.slug = r.text(at + 1);
  o.name = r.text(at + 2);
  o.plan = r.text(at + 3);
  o.settings_json = r.text(at + 4);
  o.created_at = r.text(at + 5);
  o.guardrails_json = r.text(at + 6);
  o.aliases_json = r.text(at + 7);
  return o;
}

user_record read_user(const row& r, std::size_t at) {
  user_record u;
  u.id = r.text(at);
  u.email = r.text(at + 1);
  u.display_name = r.text(at + 2);
  u.password_hash = r.text(at + 3);
  u.created_at = r.text(at + 4);
  return u;
}

membership_record read_membership(const row& r, std::size_t at) {
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
  k.scopes = decode_names(r.text(8), "api_keys.scopes");
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
  k.guardrails_json = r.text(18);
  return k;
}

std::vector<api_key_record> read_keys(const rows& rs) {
  return read_all(rs, read_key);
}

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

// -- row writers --------------------------------------------------------------

void insert_org_row(database& db, const org_record& o) {
  db.exec("INSERT INTO orgs (id, slug, name, plan, settings, created_at, "
          "guardrails, aliases) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {o.id, o.slug, o.name, o.plan, o.settings_json, o.created_at,
           o.guardrails_json, o.aliases_json});
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
              "$13, $14, $15, $16, $17, $18, $19)",
          {k.id, k.org_id, k.user_id, k.name, k.key_hash, k.key_prefix,
           k.previous_key_hash, k.previous_valid_until, encode_names(k.scopes),
           k.app_id, k.team_id, k.rate_limit_rpm, k.status, k.created_at,
           k.expires_at, k.revoked_at, k.last_used_at, k.request_count,
           k.guardrails_json});
}

void insert_audit_row(database& db, const audit_record& a) {
  db.exec("INSERT INTO audit_log (id, org_id, actor_type, actor_id, action, "
          "target_type, target_id, before, after, ip, created_at) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
          {a.id, a.org_id, a.actor_type, a.actor_id, a.action, a.target_type,
           a.target_id, a.before_json, a.after_json, a.ip, a.created_at});
}

void record_org_change(database& db, const std::string& org_id,
                       const std::string& at) {
  bool pg = db.dialect() == "postgresql";
  if (pg)
    db.run_script("LOCK TABLE org_changes IN EXCLUSIVE MODE");
  db.exec("INSERT INTO org_changes (seq, org_id, created_at) "
          "SELECT COALESCE(MAX(seq), 0) + 1, $1, $2 FROM org_changes",
          {org_id, at});
  if (pg)
    db.run_script(std::string("NOTIFY ") + org_change_channel);
}

void insert_change_audit(database& db, const audit_record& audit) {
  insert_audit_row(db, audit);
  if (!audit.org_id.empty())
    record_org_change(db, audit.org_id, audit.created_at);
}

bool change_audited(database& db, std::string_view sql, const params& args,
                    const audit_record& audit) {
  transaction tx(db);
  if (db.exec(sql, args).empty())
    return false;
  insert_change_audit(db, audit);
  tx.commit();
  return true;
}

// -- cursors ------------------------------------------------------------------

namespace {

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

} // namespace

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

} // namespace gatehouse::storage::detail
