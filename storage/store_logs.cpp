// The store's request logs: the data plane's batched writes, log pages,
// usage reports and counters, and retention.

#include "storage/store.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>

#include "policy/text.hpp"
#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

// -- statements of many rows -------------------------------------------------

/// A statement over a VALUES list of many rows, `width` parameters each,
/// sent as statements of up to 32 rows. Counts are split into powers of
/// two, so that six statement texts (each prepared once per connection)
/// serve any batch.
class bulk_values {
public:
  /// The statement is `head VALUES (...), ... tail`.
  bulk_values(const std::string& head, std::size_t width,
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

  /// The text of the statement of 2^k rows.
  const std::string& sql(std::size_t k) const {
    return sql_[k];
  }

  /// Splits `count` rows into statements, first to last:
  /// `append(i, args)` appends the parameters of row i, `run(k, args)`
  /// runs the statement of 2^k rows.
  void each(std::size_t count,
            const std::function<void(std::size_t, params&)>& append,
            const std::function<void(std::size_t, const params&)>& run) const {
    std::size_t done = 0;
    for (std::size_t k = sql_.size(); k-- > 0;) {
      const std::size_t rows = std::size_t{1} << k;
      while (count - done >= rows) {
        params args;
        args.reserve(rows * width_);
        for (std::size_t i = done; i < done + rows; ++i)
          append(i, args);
        run(k, args);
        done += rows;
      }
    }
  }

  /// Runs the statement for `count` rows (see each).
  void run(database& db, std::size_t count,
           const std::function<void(std::size_t, params&)>& append) const {
    each(count, append,
         [&](std::size_t k, const params& args) { db.exec(sql_[k], args); });
  }

private:
  // 32 rows of the widest table stay under SQLite's oldest limit of 999
  // parameters.
  static constexpr std::size_t max_rows = 32;
  std::size_t width_;
  std::vector<std::string> sql_; // [k]: 2^k rows
};

// -- request logs -------------------------------------------------------------

/// The columns of request_logs; read_log and append_log depend on their
/// order.
const std::vector<std::string> log_column_names = {
  "id",         "org_id",        "request_id",   "key_id",
  "key_prefix", "app_id",        "team_id",      "user_id",
  "provider",   "model",         "method",       "path",
  "status",     "error_code",    "tokens_in",    "tokens_out",
  "cost_micros", "usage_estimated", "unpriced",  "latency_ms",
  "ttft_ms",    "stream",        "session_id",   "end_user",
  "metadata",   "env",           "request_body", "response_body",
  "created_at", "guardrails",  "requested_model", "cache",
  "translated"};

/// log_column_names as a list for SELECT.
const std::string log_columns = [] {
  std::string out;
  for (const auto& c : log_column_names)
    out.append(out.empty() ? "" : ", ").append(c);
  return out;
}();

/// True when `text` is ASCII without NUL, as nearly every log text is;
/// tested eight bytes at a time.
bool plain_ascii(const std::string& text) {
  constexpr std::uint64_t ones = 0x0101010101010101;
  constexpr std::uint64_t highs = 0x8080808080808080;
  const char* p = text.data();
  const std::size_t n = text.size();
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t v;
    std::memcpy(&v, p + i, 8);
    // A high bit set, or (with none set) a zero byte.
    if ((v & highs) != 0 || ((v - ones) & ~v & highs) != 0)
      return false;
  }
  for (; i < n; ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c == 0 || c >= 0x80)
      return false;
  }
  return true;
}

/// Text as a parameter, valid UTF-8 without NUL: much of a log comes from
/// client headers and bodies, which PostgreSQL would refuse and which the
/// log API could not put into JSON. Text already clean (nearly all of it)
/// is bound where it is, without a copy.
param clean(const std::string& text) {
  if (plain_ascii(text)
      || (text.find('\0') == std::string::npos && policy::valid_utf8(text)))
    return param::borrow(text);
  return param(policy::clean_utf8(text));
}

param clean(const std::optional<std::string>& text) {
  return text ? clean(*text) : param();
}

void append_log(const request_log_record& l, params& args) {
  args.push_back(clean(l.id));
  args.push_back(clean(l.org_id));
  args.push_back(clean(l.request_id));
  args.push_back(clean(l.key_id));
  args.push_back(clean(l.key_prefix));
  args.push_back(clean(l.app_id));
  args.push_back(clean(l.team_id));
  args.push_back(clean(l.user_id));
  args.push_back(clean(l.provider));
  args.push_back(clean(l.model));
  args.push_back(clean(l.method));
  args.push_back(clean(l.path));
  args.emplace_back(l.status);
  args.push_back(clean(l.error_code));
  args.emplace_back(l.tokens_in);
  args.emplace_back(l.tokens_out);
  args.emplace_back(l.cost_micros);
  args.emplace_back(l.usage_estimated);
  args.emplace_back(l.unpriced);
  args.emplace_back(l.latency_ms);
  args.emplace_back(l.ttft_ms);
  args.emplace_back(l.stream);
  args.push_back(clean(l.session_id));
  args.push_back(clean(l.end_user));
  args.push_back(clean(l.metadata_json));
  args.push_back(clean(l.env));
  args.push_back(clean(l.request_body));
  args.push_back(clean(l.response_body));
  args.push_back(clean(l.created_at));
  args.push_back(clean(l.guardrails_json));
  args.push_back(clean(l.requested_model));
  args.push_back(clean(l.cache));
  args.push_back(clean(l.translated));
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
  l.guardrails_json = r.opt_text(29);
  l.requested_model = r.opt_text(30);
  l.cache = r.opt_text(31);
  l.translated = r.opt_text(32);
  return l;
}

const bulk_values& counter_upsert() {
  static const bulk_values insert(
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

// The uses of keys, (org_id, key_id, last_used_at, requests) per row.
// u.column1..4 name the VALUES columns on both backends; the count is
// cast where it is used because PostgreSQL takes an untyped VALUES column
// for text.

const bulk_values& key_update() {
  static const bulk_values update(
    "UPDATE api_keys AS k SET last_used_at = CASE "
    "WHEN k.last_used_at IS NULL OR k.last_used_at < u.column3 "
    "THEN u.column3 ELSE k.last_used_at END, "
    "request_count = k.request_count + CAST(u.column4 AS BIGINT) FROM (",
    4, ") AS u WHERE k.org_id = u.column1 AND k.id = u.column2");
  return update;
}

/// Locks the keys' rows in the order of the VALUES rows (PostgreSQL):
/// concurrent batches, with their keys sorted, never wait for each other
/// in a circle, whatever plan the UPDATE gets.
const bulk_values& key_lock() {
  static const bulk_values lock(
    "SELECT 1 FROM api_keys AS k, (", 4,
    ") AS u WHERE k.org_id = u.column1 AND k.id = u.column2 "
    "ORDER BY k.org_id, k.id FOR UPDATE OF k");
  return lock;
}

/// A batch to write: the caller's records, referred to, not copied.
struct batch_refs {
  std::vector<const request_log_record*> logs;
  std::vector<const usage_delta*> deltas;
  std::vector<const key_use*> uses;
};

/// The counter a delta moves, as a tuple that orders counters.
auto counter_of(const usage_delta& d) {
  return std::tie(d.org_id, d.scope_type, d.scope_id, d.month);
}

/// The key a use is of, as a tuple that orders keys.
auto key_of(const key_use& u) {
  return std::tie(u.org_id, u.key_id);
}

/// Hashes and compares what `Of` picks from records the map refers to.
template <class T, auto Of>
struct same {
  std::size_t operator()(const T* r) const noexcept {
    std::size_t h = 0;
    std::apply(
      [&](const auto&... text) {
        ((h = h * 31 + std::hash<std::string_view>{}(text)), ...);
      },
      Of(*r));
    return h;
  }
  bool operator()(const T* a, const T* b) const noexcept {
    return Of(*a) == Of(*b);
  }
};

/// The sums of `records` per what `Of` picks, in the order of `Of`.
template <class T, auto Of, class Add>
std::vector<T> sum_by(const std::vector<const T*>& records, Add add) {
  std::unordered_map<const T*, T, same<T, Of>, same<T, Of>> sums;
  sums.reserve(records.size());
  for (const auto* r : records) {
    auto [it, fresh] = sums.try_emplace(r, *r);
    if (!fresh)
      add(it->second, *r);
  }
  std::vector<T> out;
  out.reserve(sums.size());
  for (auto& entry : sums)
    out.push_back(std::move(entry.second));
  std::sort(out.begin(), out.end(),
            [](const T& a, const T& b) { return Of(a) < Of(b); });
  return out;
}

/// Writes a batch in one transaction (store::write_batch).
void write_refs(database& db, const batch_refs& b) {
  // One row per counter and per key: PostgreSQL refuses to upsert a row
  // twice in one statement. Sorted keys also make concurrent batches lock
  // rows in the same order.
  const auto counters = sum_by<usage_delta, counter_of>(
    b.deltas, [](usage_delta& sum, const usage_delta& d) {
      sum.requests += d.requests;
      sum.tokens_in += d.tokens_in;
      sum.tokens_out += d.tokens_out;
      sum.cost_micros += d.cost_micros;
    });
  const auto keys
    = sum_by<key_use, key_of>(b.uses, [](key_use& sum, const key_use& u) {
        sum.requests += u.requests;
        if (u.last_used_at > sum.last_used_at)
          sum.last_used_at = u.last_used_at;
      });

  params values;
  values.reserve(b.logs.size() * log_column_names.size());
  for (const auto* l : b.logs)
    append_log(*l, values);

  transaction tx(db);
  if (!values.empty())
    db.insert_rows("request_logs", log_column_names, values);
  counter_upsert().run(db, counters.size(), [&](std::size_t i, params& args) {
    const auto& d = counters[i];
    args.emplace_back(d.org_id);
    args.emplace_back(d.scope_type);
    args.emplace_back(d.scope_id);
    args.emplace_back(d.month);
    args.emplace_back(d.requests);
    args.emplace_back(d.tokens_in);
    args.emplace_back(d.tokens_out);
    args.emplace_back(d.cost_micros);
  });
  // Last use only ever moves forward; requests add up.
  const bool lock_rows = db.dialect() == "postgresql";
  key_update().each(
    keys.size(),
    [&](std::size_t i, params& args) {
      const auto& u = keys[i];
      args.push_back(param::borrow(u.org_id));
      args.push_back(param::borrow(u.key_id));
      args.push_back(param::borrow(u.last_used_at));
      args.emplace_back(u.requests);
    },
    [&](std::size_t k, const params& args) {
      if (lock_rows)
        db.exec(key_lock().sql(k), args);
      db.exec(key_update().sql(k), args);
    });
  tx.commit();
}

/// Writes entries [lo, hi) in one transaction; on a data error, each half
/// on its own, down to single entries, which are refused.
void write_range(database& db, const std::vector<log_write>& entries,
                 std::size_t lo, std::size_t hi, std::vector<bool>& settled,
                 const store::refused_entry& refused) {
  batch_refs b;
  b.logs.reserve(hi - lo);
  b.deltas.reserve(hi - lo);
  b.uses.reserve(hi - lo);
  for (std::size_t i = lo; i < hi; ++i) {
    const auto& e = entries[i];
    b.logs.push_back(&e.log);
    for (const auto& d : e.deltas)
      b.deltas.push_back(&d);
    if (e.key)
      b.uses.push_back(&*e.key);
  }
  try {
    write_refs(db, b);
  } catch (const data_error& why) {
    if (hi - lo == 1) {
      settled[lo] = true;
      refused(entries[lo], why);
      return;
    }
    const std::size_t mid = lo + (hi - lo) / 2;
    write_range(db, entries, lo, mid, settled, refused);
    write_range(db, entries, mid, hi, settled, refused);
    return;
  }
  std::fill(settled.begin() + static_cast<std::ptrdiff_t>(lo),
            settled.begin() + static_cast<std::ptrdiff_t>(hi), true);
}

} // namespace

void store::write_batch(const std::vector<request_log_record>& logs,
                        const std::vector<usage_delta>& deltas,
                        const std::vector<key_use>& uses) {
  batch_refs b;
  b.logs.reserve(logs.size());
  for (const auto& l : logs)
    b.logs.push_back(&l);
  b.deltas.reserve(deltas.size());
  for (const auto& d : deltas)
    b.deltas.push_back(&d);
  b.uses.reserve(uses.size());
  for (const auto& u : uses)
    b.uses.push_back(&u);
  write_refs(db_, b);
}

void store::write_entries(const std::vector<log_write>& entries,
                          std::vector<bool>& settled,
                          const refused_entry& refused) {
  settled.assign(entries.size(), false);
  if (!entries.empty())
    write_range(db_, entries, 0, entries.size(), settled, refused);
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

  auto [logs, next] = read_page(db_.exec(sql, args), limit, read_log);
  return {std::move(logs), std::move(next)};
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

} // namespace gatehouse::storage
