// The store's webhooks: their rows, the delivery queue and its log.

#include "storage/store.hpp"

#include "storage/database.hpp"
#include "storage/store_rows.hpp"

namespace gatehouse::storage {

using namespace detail;

namespace {

const std::string webhook_columns = "id, org_id, app_id, url, events, "
                                    "description, secret_encrypted, "
                                    "created_at";

webhook_record read_webhook(const row& r) {
  webhook_record w;
  w.id = r.text(0);
  w.org_id = r.text(1);
  w.app_id = r.opt_text(2);
  w.url = r.text(3);
  w.events_json = r.text(4);
  w.description = r.opt_text(5);
  w.secret_encrypted = r.text(6);
  w.created_at = r.text(7);
  return w;
}

const std::string delivery_columns = "webhook_id, org_id, event_id, type, "
                                     "payload, attempt, state, "
                                     "next_attempt_at, created_at";

webhook_delivery read_delivery(const row& r) {
  webhook_delivery d;
  d.webhook_id = r.text(0);
  d.org_id = r.text(1);
  d.event_id = r.text(2);
  d.type = r.text(3);
  d.payload = r.text(4);
  d.attempt = static_cast<int>(r.int64(5));
  d.state = r.text(6);
  d.next_attempt_ms = r.int64(7);
  d.created_ms = r.int64(8);
  return d;
}

webhook_attempt read_attempt(const row& r) {
  webhook_attempt a;
  a.id = r.text(0);
  a.webhook_id = r.text(1);
  a.event_id = r.text(2);
  a.type = r.text(3);
  a.attempt = static_cast<int>(r.int64(4));
  if (auto s = r.opt_int64(5))
    a.status_code = static_cast<int>(*s);
  a.error = r.opt_text(6);
  a.at = r.text(7);
  return a;
}

} // namespace

void store::insert_webhook(const webhook_record& w, const audit_record& audit) {
  write_audited(db_, audit, [&] {
    db_.exec("INSERT INTO webhooks (" + webhook_columns
               + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             {w.id, w.org_id, w.app_id, w.url, w.events_json, w.description,
              w.secret_encrypted, w.created_at});
  });
}

std::vector<webhook_record> store::list_webhooks(const std::string& org_id) {
  return read_all(db_.exec("SELECT " + webhook_columns
                             + " FROM webhooks WHERE org_id = $1 "
                               "ORDER BY created_at, id",
                           {org_id}),
                  read_webhook);
}

std::optional<webhook_record> store::find_webhook(const std::string& org_id,
                                                  const std::string& id) {
  return read_first(db_.exec("SELECT " + webhook_columns
                               + " FROM webhooks WHERE org_id = $1 AND id = $2",
                             {org_id, id}),
                    read_webhook);
}

bool store::delete_webhook(const std::string& org_id, const std::string& id,
                           const audit_record& audit) {
  transaction tx(db_);
  if (db_
        .exec("DELETE FROM webhooks WHERE org_id = $1 AND id = $2 "
              "RETURNING id",
              {org_id, id})
        .empty())
    return false;
  db_.exec("DELETE FROM webhook_deliveries WHERE webhook_id = $1", {id});
  db_.exec("DELETE FROM webhook_attempts WHERE webhook_id = $1", {id});
  insert_change_audit(db_, audit);
  tx.commit();
  return true;
}

bool store::org_has_webhooks(const std::string& org_id) {
  return !db_.exec("SELECT 1 FROM webhooks WHERE org_id = $1 LIMIT 1", {org_id})
            .empty();
}

int store::enqueue_webhook_event(const std::string& org_id,
                                 const std::optional<std::string>& app_id,
                                 const std::string& event_id,
                                 const std::string& type,
                                 const std::string& payload,
                                 std::int64_t now_ms,
                                 const std::optional<std::string>& webhook_id) {
  const std::string insert
    = "INSERT INTO webhook_deliveries (webhook_id, event_id, org_id, type, "
      "payload, attempt, state, next_attempt_at, claimed_until, created_at) "
      "SELECT id, $2, org_id, $3, $4, 0, 'pending', $5, 0, $5 "
      "FROM webhooks WHERE org_id = $1 ";
  if (webhook_id)
    return static_cast<int>(
      db_
        .exec(insert + "AND id = $6 RETURNING webhook_id",
              {org_id, event_id, type, payload, now_ms, *webhook_id})
        .size());
  // Event types hold no LIKE wildcard other than '_'-free dotted names.
  return static_cast<int>(
    db_
      .exec(
        insert
          + "AND events LIKE $6 AND (app_id IS NULL OR app_id = $7) "
            "RETURNING webhook_id",
        {org_id, event_id, type, payload, now_ms, "%\"" + type + "\"%", app_id})
      .size());
}

int store::enqueue_webhook_event_once(
  const std::string& mark, const std::string& now, const std::string& org_id,
  const std::optional<std::string>& app_id, const std::string& event_id,
  const std::string& type, const std::string& payload, std::int64_t now_ms) {
  transaction tx(db_);
  if (!insert_webhook_mark(org_id, mark, now))
    return -1;
  auto n
    = enqueue_webhook_event(org_id, app_id, event_id, type, payload, now_ms);
  tx.commit();
  return n;
}

std::vector<webhook_delivery>
store::claim_webhook_deliveries(std::int64_t now_ms, std::int64_t lease_ms,
                                const std::string& node, int limit) {
  // The inner SELECT picks candidates; the outer WHERE checks again on
  // the row being updated, so that of two nodes racing for a row only one
  // moves its claim (PostgreSQL re-reads a row updated concurrently;
  // SQLite runs one writer at a time).
  std::string lock
    = db_.dialect() == "postgresql" ? " FOR UPDATE SKIP LOCKED" : "";
  auto rows = db_.exec(
    "UPDATE webhook_deliveries SET claimed_until = $2, claimed_by = $3 "
    "WHERE (webhook_id, event_id) IN (SELECT webhook_id, event_id "
    "FROM webhook_deliveries WHERE state = 'pending' "
    "AND next_attempt_at <= $1 AND claimed_until <= $1 "
    "ORDER BY next_attempt_at LIMIT $4"
      + lock + ") AND state = 'pending' AND claimed_until <= $1 RETURNING "
      + delivery_columns,
    {now_ms, now_ms + lease_ms, node, limit});
  std::vector<webhook_delivery> out;
  for (auto& r : rows) {
    auto d = read_delivery(r);
    auto w = db_.exec("SELECT url, secret_encrypted FROM webhooks "
                      "WHERE id = $1",
                      {d.webhook_id});
    if (w.empty()) {
      // Deleted while its event waited.
      db_.exec("DELETE FROM webhook_deliveries WHERE webhook_id = $1",
               {d.webhook_id});
      continue;
    }
    d.url = w[0].text(0);
    d.secret_encrypted = w[0].text(1);
    out.push_back(std::move(d));
  }
  return out;
}

void store::record_webhook_attempt(const webhook_delivery& d,
                                   const webhook_attempt& a) {
  transaction tx(db_);
  // A webhook deleted meanwhile keeps no log.
  if (!db_
         .exec(
           "UPDATE webhook_deliveries SET attempt = $3, state = $4, "
           "next_attempt_at = $5, claimed_until = 0, claimed_by = NULL "
           "WHERE webhook_id = $1 AND event_id = $2 RETURNING webhook_id",
           {d.webhook_id, d.event_id, d.attempt, d.state, d.next_attempt_ms})
         .empty())
    db_.exec("INSERT INTO webhook_attempts (id, webhook_id, event_id, type, "
             "attempt, status_code, error, at) "
             "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
             {a.id, a.webhook_id, a.event_id, a.type, a.attempt, a.status_code,
              a.error, a.at});
  tx.commit();
}

std::vector<webhook_attempt>
store::list_webhook_attempts(const std::string& webhook_id, int limit) {
  return read_all(db_.exec("SELECT id, webhook_id, event_id, type, attempt, "
                           "status_code, error, at FROM webhook_attempts "
                           "WHERE webhook_id = $1 "
                           "ORDER BY at DESC, id DESC LIMIT $2",
                           {webhook_id, limit}),
                  read_attempt);
}

std::optional<std::int64_t> store::next_webhook_due() {
  auto r = db_.exec("SELECT MIN(CASE WHEN claimed_until > next_attempt_at "
                    "THEN claimed_until ELSE next_attempt_at END) "
                    "FROM webhook_deliveries WHERE state = 'pending'");
  if (r.empty() || r[0].is_null(0))
    return std::nullopt;
  return r[0].int64(0);
}

bool store::insert_webhook_mark(const std::string& org_id,
                                const std::string& mark,
                                const std::string& now) {
  return !db_
            .exec("INSERT INTO webhook_marks (org_id, mark, created_at) "
                  "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING "
                  "RETURNING mark",
                  {org_id, mark, now})
            .empty();
}

std::vector<api_key_record> store::keys_expiring(const std::string& from,
                                                 const std::string& to) {
  return read_keys(db_.exec(
    "SELECT " + key_columns
      + " FROM api_keys WHERE status = 'active' AND expires_at IS NOT NULL "
        "AND expires_at > $1 AND expires_at <= $2 AND org_id IN "
        "(SELECT org_id FROM webhooks WHERE events LIKE "
        "'%\"key.expiring\"%')",
    {normalize_time(from), normalize_time(to)}));
}

std::int64_t store::prune_webhook_rows(std::int64_t before_ms,
                                       const std::string& before) {
  auto a = db_.exec("DELETE FROM webhook_deliveries WHERE state <> 'pending' "
                    "AND created_at < $1 RETURNING event_id",
                    {before_ms});
  auto b = db_.exec("DELETE FROM webhook_attempts WHERE at < $1 "
                    "RETURNING id",
                    {before});
  return static_cast<std::int64_t>(a.size() + b.size());
}

} // namespace gatehouse::storage
