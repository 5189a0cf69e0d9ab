#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "storage/database.hpp"
#include "storage/migrations.hpp"
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
