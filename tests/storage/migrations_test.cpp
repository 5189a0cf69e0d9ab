#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/store.hpp"
#include "tests/storage/backend_fixture.hpp"

namespace gatehouse::storage {
namespace {

class MigrationsTest : public testing::backend_test {};

GH_INSTANTIATE_BACKEND_SUITE(MigrationsTest);

TEST(MigrationList, VersionsAscendAndAreUnique) {
  ASSERT_FALSE(migrations().empty());
  int previous = 0;
  for (const auto& m : migrations()) {
    EXPECT_GT(m.version, previous) << m.description;
    EXPECT_FALSE(m.statements.empty()) << m.description;
    previous = m.version;
  }
  EXPECT_EQ(latest_schema_version(), previous);
}

TEST_P(MigrationsTest, EmptyDatabaseHasVersionZero) {
  EXPECT_EQ(schema_version(db()), 0);
}

TEST_P(MigrationsTest, MigrateAppliesEachVersionOnce) {
  const int all = static_cast<int>(migrations().size());
  EXPECT_EQ(migrate(db()), all);
  EXPECT_EQ(schema_version(db()), latest_schema_version());
  EXPECT_EQ(migrate(db()), 0);
  EXPECT_EQ(schema_version(db()), latest_schema_version());
  auto r = db().exec("SELECT version, applied_at FROM schema_migrations "
                     "ORDER BY version");
  ASSERT_EQ(r.size(), migrations().size());
  for (std::size_t i = 0; i < r.size(); ++i) {
    EXPECT_EQ(r[i].int64(0), migrations()[i].version);
    EXPECT_EQ(r[i].text(1).size(), 20u) << r[i].text(1); // RFC 3339, UTC
  }
  // Another connection sees the same, current schema.
  auto other = open_database(url());
  EXPECT_EQ(schema_version(*other), latest_schema_version());
  EXPECT_EQ(migrate(*other), 0);
}

TEST_P(MigrationsTest, SchemaCoversEveryTable) {
  migrate(db());
  for (const char* table :
       {"orgs", "users", "memberships", "api_keys", "providers", "teams",
        "apps", "pricing", "audit_log", "request_logs", "usage_counters"}) {
    auto r = db().exec(std::string("SELECT COUNT(*) FROM ") + table);
    ASSERT_EQ(r.size(), 1u) << table;
    EXPECT_EQ(r[0].int64(0), 0) << table;
  }
}

TEST_P(MigrationsTest, DefaultsAndForeignKeysHold) {
  migrate(db());
  db().exec("INSERT INTO orgs (id, slug, name, created_at) "
            "VALUES ('o1', 'acme', 'Acme', 'now')");
  auto r = db().exec("SELECT plan, settings FROM orgs");
  EXPECT_EQ(r[0].text(0), "free");
  EXPECT_EQ(r[0].text(1), "{}");
  EXPECT_THROW(db().exec("INSERT INTO teams (id, org_id, name, created_at) "
                         "VALUES ('t1', 'nope', 'x', 'now')"),
               storage_error);
  EXPECT_THROW(db().exec("INSERT INTO memberships (org_id, user_id, role, "
                         "status) VALUES ('o1', 'u1', 'owner', 'bogus')"),
               storage_error);
}

TEST_P(MigrationsTest, MigrateToStopsAtTheVersion) {
  EXPECT_EQ(migrate_to(db(), 0), 0);
  EXPECT_EQ(schema_version(db()), 0);
  EXPECT_EQ(migrate_to(db(), 1), 1);
  EXPECT_EQ(schema_version(db()), 1);
  EXPECT_EQ(migrate_to(db(), 1), 0);
  EXPECT_EQ(migrate(db()), latest_schema_version() - 1);
  EXPECT_EQ(schema_version(db()), latest_schema_version());
}

TEST_P(MigrationsTest, Version2UpgradesAVersion1Database) {
  ASSERT_EQ(migrate_to(db(), 1), 1);
  // Rows as version 1 wrote them.
  db().exec("INSERT INTO orgs (id, slug, name, created_at) "
            "VALUES ('o1', 'acme', 'Acme', '2026-01-01T00:00:00Z')");
  db().exec("INSERT INTO request_logs (id, org_id, key_id, provider, model, "
            "status, tokens_in, cost_micros, created_at) VALUES ('old', "
            "'o1', 'k1', 'openai', 'gpt-4o', 200, 5, 7, "
            "'2026-01-02T00:00:00.000Z')");
  for (const char* id : {"p2", "p1", "p3"})
    db().exec("INSERT INTO providers (id, org_id, name, base_url, "
              "is_default, created_at, updated_at) VALUES ($1, 'o1', $1, "
              "'https://example.com', 1, 'now', 'now')",
              {id});

  ASSERT_EQ(migrate(db()), latest_schema_version() - 1);
  EXPECT_EQ(schema_version(db()), latest_schema_version());

  store st(db());
  auto page = st.query_logs("o1", {}, std::nullopt, 10);
  ASSERT_EQ(page.logs.size(), 1u);
  const auto& old = page.logs[0];
  EXPECT_EQ(old.id, "old");
  EXPECT_EQ(old.key_id, "k1");
  EXPECT_EQ(old.request_id, "");
  EXPECT_EQ(old.method, "");
  EXPECT_EQ(old.path, "");
  EXPECT_FALSE(old.unpriced);
  EXPECT_EQ(old.key_prefix, std::nullopt);
  EXPECT_EQ(old.tokens_in, 5);
  EXPECT_EQ(old.cost_micros, 7);
  auto usage = st.usage_report("o1", "key", "", "");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].group, "k1");
  EXPECT_EQ(usage[0].unpriced_requests, 0);

  // Several defaults of one organization were reduced to one.
  auto providers = st.list_providers("o1");
  ASSERT_EQ(providers.size(), 3u);
  EXPECT_TRUE(providers[0].is_default); // p1
  EXPECT_FALSE(providers[1].is_default);
  EXPECT_FALSE(providers[2].is_default);

  // The new columns and indexes are in place.
  request_log_record fresh;
  fresh.id = "new";
  fresh.org_id = "o1";
  fresh.request_id = "r1";
  fresh.method = "POST";
  fresh.path = "/v1/embeddings";
  fresh.unpriced = true;
  fresh.key_prefix = "0123456789ab";
  fresh.created_at = "2026-01-03T00:00:00.000Z";
  st.write_batch({fresh}, {}, {});
  page = st.query_logs("o1", {}, std::nullopt, 10);
  ASSERT_EQ(page.logs.size(), 2u);
  EXPECT_EQ(page.logs[0].request_id, "r1");
  EXPECT_EQ(page.logs[0].path, "/v1/embeddings");
  EXPECT_TRUE(page.logs[0].unpriced);
  EXPECT_EQ(page.logs[0].key_prefix, "0123456789ab");
  const char* index_sql
    = postgres() ? "SELECT 1 FROM pg_indexes WHERE indexname = $1"
                 : "SELECT 1 FROM sqlite_master WHERE type = 'index' "
                   "AND name = $1";
  for (const char* index :
       {"request_logs_by_org_time", "request_logs_by_session",
        "usage_counters_by_month", "providers__org_id__is_default"})
    EXPECT_EQ(db().exec(index_sql, {index}).size(), 1u) << index;
  EXPECT_TRUE(db().exec(index_sql, {"request_logs_by_org"}).empty());
}

TEST_P(MigrationsTest, Version5KeepsOnlyTheIndexesOfLogPages) {
  ASSERT_EQ(migrate_to(db(), 4), 4);
  db().exec("INSERT INTO orgs (id, slug, name, created_at) "
            "VALUES ('o1', 'acme', 'Acme', '2026-01-01T00:00:00Z')");
  for (int i = 0; i < 40; ++i)
    db().exec("INSERT INTO request_logs (id, org_id, request_id, key_id, "
              "app_id, session_id, created_at) VALUES ($1, 'o1', $1, $2, "
              "$3, $4, $5)",
              {"l" + std::to_string(i), "k" + std::to_string(i % 4),
               "a" + std::to_string(i % 2),
               i % 10 == 0 ? param("s1") : param(),
               "2026-01-02T00:00:" + std::to_string(10 + i) + ".000Z"});
  ASSERT_EQ(migrate(db()), latest_schema_version() - 4);

  const char* indexes_sql
    = postgres() ? "SELECT indexname FROM pg_indexes WHERE tablename = "
                   "'request_logs' ORDER BY indexname"
                 : "SELECT name FROM sqlite_master WHERE type = 'index' "
                   "AND tbl_name = 'request_logs' AND sql IS NOT NULL "
                   "ORDER BY name";
  std::vector<std::string> names;
  for (const auto& r : db().exec(indexes_sql))
    names.push_back(r.text(0));
  std::vector<std::string> want = {"request_logs_by_org_time",
                                   "request_logs_by_session"};
  if (postgres())
    want.push_back("request_logs__id"); // the primary key
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);

  // Pages of a session read its index; every other filter walks the
  // organization's logs in time order.
  const std::string page_sql
    = "SELECT id FROM request_logs WHERE org_id = $1 AND session_id = $2 "
      "ORDER BY created_at DESC, id DESC LIMIT 51";
  const std::string explain
    = postgres() ? "EXPLAIN " : "EXPLAIN QUERY PLAN ";
  auto plan_of = [&](const std::string& sql, const params& args) {
    std::string text;
    for (const auto& r : db().exec(explain + sql, args))
      for (std::size_t c = 0; c < r.size(); ++c)
        text += r.text(c) + "\n";
    return text;
  };
  if (postgres())
    db().run_script("SET enable_seqscan = off");
  EXPECT_NE(plan_of(page_sql, {"o1", "s1"}).find("request_logs_by_session"),
            std::string::npos)
    << plan_of(page_sql, {"o1", "s1"});
  const std::string key_sql
    = "SELECT id FROM request_logs WHERE org_id = $1 AND key_id = $2 "
      "ORDER BY created_at DESC, id DESC LIMIT 51";
  EXPECT_NE(plan_of(key_sql, {"o1", "k1"}).find("request_logs_by_org_time"),
            std::string::npos)
    << plan_of(key_sql, {"o1", "k1"});

  store st(db());
  log_filter f;
  f.session_id = "s1";
  auto page = st.query_logs("o1", f, std::nullopt, 10);
  ASSERT_EQ(page.logs.size(), 4u);
  EXPECT_EQ(page.logs[0].id, "l30");
  EXPECT_EQ(page.logs[3].id, "l0");
  f = {};
  f.key_id = "k1";
  f.app_id = "a1";
  EXPECT_EQ(st.query_logs("o1", f, std::nullopt, 100).logs.size(), 10u);
  EXPECT_EQ(st.app_counts("o1", "a0").requests, 20);
}

TEST_P(MigrationsTest, ConcurrentMigrationsApplyEachVersionOnce) {
  auto a = open_database(url());
  auto b = open_database(url());
  int applied_a = -1;
  int applied_b = -1;
  std::string error;
  std::thread ta([&] {
    try {
      applied_a = migrate(*a);
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  try {
    applied_b = migrate(*b);
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
  }
  ta.join();
  EXPECT_EQ(error, "");
  EXPECT_EQ(applied_a + applied_b, static_cast<int>(migrations().size()));
  EXPECT_EQ(schema_version(db()), latest_schema_version());
}

} // namespace
} // namespace gatehouse::storage
