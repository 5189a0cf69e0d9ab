#include "storage/migrations.hpp"

#include <ctime>

#include "storage/database.hpp"

namespace gatehouse::storage {

// Portable SQL only: TEXT ids, RFC 3339 timestamps as TEXT, BIGINT
// integers and micro-dollars, INTEGER 0/1 booleans, JSON as TEXT.
// Every key is named `table__column[__column]` so that a unique violation
// can be reported as `table.column` by both backends.

namespace {

const char* const create_orgs = R"(
CREATE TABLE orgs (
  id TEXT NOT NULL,
  slug TEXT NOT NULL,
  name TEXT NOT NULL,
  plan TEXT NOT NULL DEFAULT 'free',
  settings TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  CONSTRAINT orgs__id PRIMARY KEY (id),
  CONSTRAINT orgs__slug UNIQUE (slug)
))";

const char* const create_users = R"(
CREATE TABLE users (
  id TEXT NOT NULL,
  email TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  password_hash TEXT,
  created_at TEXT NOT NULL,
  CONSTRAINT users__id PRIMARY KEY (id),
  CONSTRAINT users__email UNIQUE (email)
))";

const char* const create_teams = R"(
CREATE TABLE teams (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  monthly_spend_limit_micros BIGINT,
  created_at TEXT NOT NULL,
  CONSTRAINT teams__id PRIMARY KEY (id),
  CONSTRAINT teams__org_id__name UNIQUE (org_id, name)
))";

const char* const create_apps = R"(
CREATE TABLE apps (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  slug TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  project_type TEXT NOT NULL DEFAULT 'ai_gateway',
  env TEXT NOT NULL DEFAULT 'dev',
  is_active INTEGER NOT NULL DEFAULT 1,
  metadata TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  CONSTRAINT apps__id PRIMARY KEY (id),
  CONSTRAINT apps__org_id__slug UNIQUE (org_id, slug)
))";

const char* const create_memberships = R"(
CREATE TABLE memberships (
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  role TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'invited', 'suspended')),
  team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
  invite_token_hash TEXT,
  invited_at TEXT,
  joined_at TEXT,
  last_active_at TEXT,
  last_used_at TEXT,
  CONSTRAINT memberships__org_id__user_id PRIMARY KEY (org_id, user_id),
  CONSTRAINT memberships__invite_token_hash UNIQUE (invite_token_hash)
))";

const char* const create_api_keys = R"(
CREATE TABLE api_keys (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users (id),
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL,
  key_prefix TEXT NOT NULL,
  previous_key_hash TEXT,
  previous_valid_until BIGINT,
  scopes TEXT NOT NULL DEFAULT '["*"]',
  app_id TEXT REFERENCES apps (id) ON DELETE CASCADE,
  team_id TEXT REFERENCES teams (id) ON DELETE SET NULL,
  rate_limit_rpm BIGINT,
  status TEXT NOT NULL DEFAULT 'active'
    CHECK (status IN ('active', 'revoked')),
  created_at TEXT NOT NULL,
  expires_at TEXT,
  revoked_at TEXT,
  last_used_at TEXT,
  request_count BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT api_keys__id PRIMARY KEY (id),
  CONSTRAINT api_keys__key_hash UNIQUE (key_hash)
))";

const char* const create_providers = R"(
CREATE TABLE providers (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  base_url TEXT NOT NULL,
  auth_mode TEXT NOT NULL DEFAULT 'api_key',
  api_key_encrypted TEXT,
  api_key_last4 TEXT,
  auth_header TEXT NOT NULL DEFAULT 'Authorization',
  auth_scheme TEXT NOT NULL DEFAULT 'Bearer',
  fallback TEXT NOT NULL DEFAULT '[]',
  is_default INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  CONSTRAINT providers__id PRIMARY KEY (id),
  CONSTRAINT providers__org_id__name UNIQUE (org_id, name)
))";

const char* const create_pricing = R"(
CREATE TABLE pricing (
  org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  model TEXT NOT NULL,
  input_micros_per_mtok BIGINT NOT NULL,
  output_micros_per_mtok BIGINT NOT NULL,
  CONSTRAINT pricing__org_id__model PRIMARY KEY (org_id, model)
))";

// Audit records outlive what they describe: no foreign keys.
const char* const create_audit_log = R"(
CREATE TABLE audit_log (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  actor_type TEXT NOT NULL,
  actor_id TEXT NOT NULL DEFAULT '',
  action TEXT NOT NULL,
  target_type TEXT NOT NULL DEFAULT '',
  target_id TEXT NOT NULL DEFAULT '',
  before TEXT,
  after TEXT,
  ip TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL,
  CONSTRAINT audit_log__id PRIMARY KEY (id)
))";

// Written in batches behind the hot path: no foreign keys either.
const char* const create_request_logs = R"(
CREATE TABLE request_logs (
  id TEXT NOT NULL,
  org_id TEXT NOT NULL,
  key_id TEXT,
  app_id TEXT,
  team_id TEXT,
  user_id TEXT,
  provider TEXT NOT NULL DEFAULT '',
  model TEXT NOT NULL DEFAULT '',
  status BIGINT NOT NULL DEFAULT 0,
  error_code TEXT,
  tokens_in BIGINT NOT NULL DEFAULT 0,
  tokens_out BIGINT NOT NULL DEFAULT 0,
  cost_micros BIGINT NOT NULL DEFAULT 0,
  usage_estimated INTEGER NOT NULL DEFAULT 0,
  latency_ms BIGINT NOT NULL DEFAULT 0,
  ttft_ms BIGINT,
  stream INTEGER NOT NULL DEFAULT 0,
  session_id TEXT,
  end_user TEXT,
  metadata TEXT,
  env TEXT,
  request_body TEXT,
  response_body TEXT,
  created_at TEXT NOT NULL,
  CONSTRAINT request_logs__id PRIMARY KEY (id)
))";

const char* const create_usage_counters = R"(
CREATE TABLE usage_counters (
  org_id TEXT NOT NULL,
  scope_type TEXT NOT NULL CHECK (scope_type IN ('key', 'app', 'team')),
  scope_id TEXT NOT NULL,
  month TEXT NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  tokens_in BIGINT NOT NULL DEFAULT 0,
  tokens_out BIGINT NOT NULL DEFAULT 0,
  cost_micros BIGINT NOT NULL DEFAULT 0,
  CONSTRAINT usage_counters__org_id__scope_type__scope_id__month
    PRIMARY KEY (org_id, scope_type, scope_id, month)
))";

const char* const create_schema_migrations = R"(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version BIGINT NOT NULL,
  applied_at TEXT NOT NULL,
  CONSTRAINT schema_migrations__version PRIMARY KEY (version)
))";

std::string now_rfc3339() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buf;
}

bool has_migrations_table(database& db) {
  const char* sql = db.dialect() == "sqlite"
                      ? "SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'schema_migrations'"
                      : "SELECT 1 FROM information_schema.tables "
                        "WHERE table_schema = current_schema() "
                        "AND table_name = 'schema_migrations'";
  return !db.exec(sql).empty();
}

} // namespace

const std::vector<migration>& migrations() {
  static const std::vector<migration> all = {
    {1,
     "initial schema",
     {create_orgs, create_users, create_teams, create_apps, create_memberships,
      create_api_keys, create_providers, create_pricing, create_audit_log,
      create_request_logs, create_usage_counters,
      "CREATE INDEX memberships_by_user ON memberships (user_id)",
      "CREATE INDEX api_keys_by_org ON api_keys (org_id, created_at)",
      "CREATE INDEX audit_log_by_org ON audit_log (org_id, created_at)",
      "CREATE INDEX request_logs_by_org ON request_logs (org_id, created_at)",
      "CREATE INDEX request_logs_by_app ON request_logs (app_id)"}},
    {2,
     "request log details, log and counter indexes, one default provider",
     {"ALTER TABLE request_logs ADD COLUMN request_id TEXT",
      "ALTER TABLE request_logs ADD COLUMN method TEXT",
      "ALTER TABLE request_logs ADD COLUMN path TEXT",
      "ALTER TABLE request_logs ADD COLUMN unpriced INTEGER NOT NULL "
      "DEFAULT 0",
      "ALTER TABLE request_logs ADD COLUMN key_prefix TEXT",
      // Newest-first pages, time bounds and retention; the id breaks ties
      // between rows of the same millisecond. Supersedes request_logs_by_org.
      "CREATE INDEX request_logs_by_org_time ON request_logs "
      "(org_id, created_at, id)",
      "DROP INDEX request_logs_by_org",
      "CREATE INDEX request_logs_by_key ON request_logs (org_id, key_id)",
      "CREATE INDEX request_logs_by_session ON request_logs "
      "(org_id, session_id)",
      "CREATE INDEX usage_counters_by_month ON usage_counters "
      "(org_id, month)",
      // At most one default provider per organization: where several
      // were flagged, the one with the smallest id stays. The index is
      // named like a key so that both backends report a violation as
      // providers.is_default.
      "UPDATE providers SET is_default = 0 WHERE is_default = 1 AND id NOT "
      "IN (SELECT MIN(id) FROM providers WHERE is_default = 1 GROUP BY "
      "org_id)",
      "CREATE UNIQUE INDEX providers__org_id__is_default ON providers "
      "(org_id, is_default) WHERE is_default = 1"}},
    {3,
     "audit pages in time order whatever the precision of created_at",
     // Newest-first audit pages and time bounds. The expression gives
     // created_at a fraction of exactly three digits, so that entries
     // written with and without milliseconds order as instants; the store
     // sorts by the very same expression. Supersedes audit_log_by_org.
     {"CREATE INDEX audit_log_by_org_time ON audit_log (org_id, "
      "(SUBSTR(created_at, 1, 19) || '.' || "
      "SUBSTR(REPLACE(SUBSTR(created_at, 21), 'Z', '') || '000', 1, 3) || "
      "'Z'), id)",
      "DROP INDEX audit_log_by_org"}},
    {4,
     "change log of organizations, read by every node instead of polling",
     // One row per change of an org made by a writer other than its org
     // actor on this node (the command line, another node), written in the
     // change's transaction. seq orders the rows; the store assigns it
     // under a lock so that rows become visible in seq order.
     {"CREATE TABLE org_changes ("
      "seq BIGINT NOT NULL, "
      "org_id TEXT NOT NULL, "
      "created_at TEXT NOT NULL, "
      "CONSTRAINT org_changes__seq PRIMARY KEY (seq))"}},
    {5,
     "request logs keep only the indexes their pages need",
     // Every index of request_logs costs each logged request one more
     // B-tree insert, on the data plane's busiest table. Log pages walk
     // request_logs_by_org_time newest first and test the other filters
     // (key, app, team, ...) row by row; only a session, which tends to
     // be a handful of rows among many, keeps an index, and only for the
     // rows that have one. Counting and deleting an app's logs (its info
     // and deletion, both rare) read the organization's logs.
     {"DROP INDEX request_logs_by_key",
      "DROP INDEX request_logs_by_app",
      "DROP INDEX request_logs_by_session",
      "CREATE INDEX request_logs_by_session ON request_logs "
      "(org_id, session_id, created_at, id) WHERE session_id IS NOT NULL"}},
    {6,
     "guardrail rules of orgs, apps and keys; guardrail hits on request logs",
     // Rules are JSON arrays as the API takes them ('[]': none); a log's
     // hits are a JSON array of {rule, action, count}, NULL when none.
     {"ALTER TABLE orgs ADD COLUMN guardrails TEXT NOT NULL DEFAULT '[]'",
      "ALTER TABLE apps ADD COLUMN guardrails TEXT NOT NULL DEFAULT '[]'",
      "ALTER TABLE api_keys ADD COLUMN guardrails TEXT NOT NULL DEFAULT '[]'",
      "ALTER TABLE request_logs ADD COLUMN guardrails TEXT"}},
    {7,
     "model aliases of orgs and apps; the model a request named on its log",
     // Aliases are JSON objects {"alias": "target"} ('{}': none); a log's
     // requested_model is the client's model when an alias replaced it,
     // NULL otherwise.
     {"ALTER TABLE orgs ADD COLUMN aliases TEXT NOT NULL DEFAULT '{}'",
      "ALTER TABLE apps ADD COLUMN aliases TEXT NOT NULL DEFAULT '{}'",
      "ALTER TABLE request_logs ADD COLUMN requested_model TEXT"}},
    {8,
     "response cache settings of apps; cache outcome on request logs",
     // An app's cache is a JSON object {"enabled", "ttl_seconds"} ('{}':
     // off); a log's cache is 'hit' or 'miss', NULL when not cached.
     {"ALTER TABLE apps ADD COLUMN cache TEXT NOT NULL DEFAULT '{}'",
      "ALTER TABLE request_logs ADD COLUMN cache TEXT"}},
    {9,
     "API formats of providers; format translation on request logs",
     // A provider's format is 'openai' or 'anthropic' (NULL: derived from
     // its name and base URL); a log's translated is e.g.
     // 'openai->anthropic', NULL when the request was not translated.
     {"ALTER TABLE providers ADD COLUMN format TEXT",
      "ALTER TABLE request_logs ADD COLUMN translated TEXT"}},
    {10,
     "webhooks, their delivery queue and log, and once-only event marks",
     // A delivery is one event for one webhook; times are Unix ms. A node
     // claims due rows by moving claimed_until past now in one UPDATE, so
     // two nodes never send the same row at once; a claim that its node
     // did not finish (it stopped) lapses after a minute. A mark records
     // an event that is sent once (a budget threshold of a team in a
     // month, a key's coming expiry).
     {"CREATE TABLE webhooks ("
      "id TEXT NOT NULL, "
      "org_id TEXT NOT NULL, "
      "app_id TEXT, "
      "url TEXT NOT NULL, "
      "events TEXT NOT NULL, "
      "description TEXT, "
      "secret_encrypted TEXT NOT NULL, "
      "created_at TEXT NOT NULL, "
      "CONSTRAINT webhooks__id PRIMARY KEY (id))",
      "CREATE INDEX webhooks_by_org ON webhooks (org_id, created_at)",
      "CREATE TABLE webhook_deliveries ("
      "webhook_id TEXT NOT NULL, "
      "event_id TEXT NOT NULL, "
      "org_id TEXT NOT NULL, "
      "type TEXT NOT NULL, "
      "payload TEXT NOT NULL, "
      "attempt INTEGER NOT NULL DEFAULT 0, "
      "state TEXT NOT NULL DEFAULT 'pending', "
      "next_attempt_at BIGINT NOT NULL, "
      "claimed_until BIGINT NOT NULL DEFAULT 0, "
      "claimed_by TEXT, "
      "created_at BIGINT NOT NULL, "
      "CONSTRAINT webhook_deliveries__webhook_id__event_id "
      "PRIMARY KEY (webhook_id, event_id))",
      "CREATE INDEX webhook_deliveries_due ON webhook_deliveries "
      "(state, next_attempt_at)",
      "CREATE TABLE webhook_attempts ("
      "id TEXT NOT NULL, "
      "webhook_id TEXT NOT NULL, "
      "event_id TEXT NOT NULL, "
      "type TEXT NOT NULL, "
      "attempt INTEGER NOT NULL, "
      "status_code INTEGER, "
      "error TEXT, "
      "at TEXT NOT NULL, "
      "CONSTRAINT webhook_attempts__id PRIMARY KEY (id))",
      "CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts "
      "(webhook_id, at, id)",
      "CREATE TABLE webhook_marks ("
      "org_id TEXT NOT NULL, "
      "mark TEXT NOT NULL, "
      "created_at TEXT NOT NULL, "
      "CONSTRAINT webhook_marks__org_id__mark PRIMARY KEY (org_id, mark))"}},
  };
  return all;
}

int latest_schema_version() {
  return migrations().empty() ? 0 : migrations().back().version;
}

int migrate(database& db) {
  return migrate_to(db, latest_schema_version());
}

int migrate_to(database& db, int version) {
  if (!has_migrations_table(db)) {
    try {
      db.run_script(create_schema_migrations);
    } catch (const storage_error&) {
      // Another process may have created it at the same moment.
      if (!has_migrations_table(db))
        throw;
    }
  }
  int applied = 0;
  for (const auto& m : migrations()) {
    if (m.version > version)
      break;
    transaction tx(db);
    // SQLite's BEGIN IMMEDIATE already serializes writers; PostgreSQL
    // needs the lock so that concurrent nodes apply each version once.
    if (db.dialect() == "postgresql")
      db.run_script("LOCK TABLE schema_migrations IN EXCLUSIVE MODE");
    if (!db.exec("SELECT 1 FROM schema_migrations WHERE version = $1",
                 {m.version})
           .empty())
      continue;
    for (const auto& statement : m.statements) {
      try {
        db.run_script(statement);
      } catch (const storage_error& e) {
        throw storage_error("migration " + std::to_string(m.version) + " ("
                            + m.description + ") failed: " + e.what());
      }
    }
    db.exec("INSERT INTO schema_migrations (version, applied_at) "
            "VALUES ($1, $2)",
            {m.version, now_rfc3339()});
    tx.commit();
    ++applied;
  }
  return applied;
}

int schema_version(database& db) {
  if (!has_migrations_table(db))
    return 0;
  auto r = db.exec("SELECT MAX(version) FROM schema_migrations");
  if (r.empty() || r[0].is_null(0))
    return 0;
  return static_cast<int>(r[0].int64(0));
}

} // namespace gatehouse::storage
