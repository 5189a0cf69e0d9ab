#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "storage/database.hpp"
#include "storage/migrations.hpp"
#include "storage/postgres_database.hpp"
#include "storage/sqlite_database.hpp"
#include "tests/storage/backend_fixture.hpp"

namespace gatehouse::storage {
namespace {

class DatabaseTest : public testing::backend_test {
protected:
  void make_table() {
    db().run_script("CREATE TABLE t (id TEXT, n BIGINT, s TEXT, b INTEGER, "
                    "CONSTRAINT t__id PRIMARY KEY (id))");
  }

  std::int64_t count(const std::string& table) {
    return db().exec("SELECT COUNT(*) FROM " + table).at(0).int64(0);
  }
};

GH_INSTANTIATE_BACKEND_SUITE(DatabaseTest);

TEST_P(DatabaseTest, RunsOnTheSelectedBackend) {
  EXPECT_EQ(db().dialect(), postgres() ? "postgresql" : "sqlite");
  EXPECT_TRUE(db().is_open());
  EXPECT_FALSE(db().in_transaction());
}

TEST_P(DatabaseTest, RoundTripsValuesAndNulls) {
  make_table();
  const auto big = std::numeric_limits<std::int64_t>::max();
  const std::string text = "it's \"quoted\" $1 ?1 \xc3\xa9";
  db().exec("INSERT INTO t (id, n, s, b) VALUES ($1, $2, $3, $4)",
            {"a", big, text, true});
  db().exec("INSERT INTO t (id, n, s, b) VALUES ($1, $2, $3, $4)",
            {"b", std::optional<std::int64_t>{}, std::nullopt, false});
  db().exec("INSERT INTO t (id, n, s, b) VALUES ($1, $2, $3, $4)",
            {"c", -7, std::optional<std::string>("x"), nullptr});
  auto r = db().exec("SELECT id, n, s, b FROM t ORDER BY id");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].text(0), "a");
  EXPECT_EQ(r[0].int64(1), big);
  EXPECT_EQ(r[0].text(2), text);
  EXPECT_TRUE(r[0].boolean(3));
  EXPECT_TRUE(r[1].is_null(1));
  EXPECT_TRUE(r[1].is_null(2));
  EXPECT_EQ(r[1].opt_int64(1), std::nullopt);
  EXPECT_EQ(r[1].opt_text(2), std::nullopt);
  EXPECT_EQ(r[1].text(2), "");
  EXPECT_FALSE(r[1].boolean(3));
  EXPECT_THROW(r[1].int64(1), storage_error);
  EXPECT_EQ(r[2].int64(1), -7);
  EXPECT_EQ(r[2].opt_text(2), "x");
  EXPECT_TRUE(r[2].is_null(3));
  EXPECT_THROW(r[2].at(4), storage_error);
  EXPECT_THROW(r[2].int64(0), storage_error);
}

TEST_P(DatabaseTest, NullParametersMatchIsNull) {
  make_table();
  db().exec("INSERT INTO t (id, s) VALUES ($1, $2)", {"a", std::nullopt});
  auto r = db().exec("SELECT id FROM t WHERE s IS NULL AND n IS NULL");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text(0), "a");
  EXPECT_EQ(db().exec("SELECT COALESCE(s, $1) FROM t", {"none"})[0].text(0),
            "none");
}

TEST_P(DatabaseTest, PlaceholdersMayRepeatAndGoBeyondNine) {
  auto r = db().exec("SELECT $2, $1, $1, '$1'", {"one", "two"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text(0), "two");
  EXPECT_EQ(r[0].text(1), "one");
  EXPECT_EQ(r[0].text(2), "one");
  EXPECT_EQ(r[0].text(3), "$1");
  r = db().exec("SELECT $10, $1, $2, $3, $4, $5, $6, $7, $8, $9",
                {"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"});
  EXPECT_EQ(r[0].text(0), "10");
  EXPECT_EQ(r[0].text(9), "9");
}

TEST_P(DatabaseTest, CachedStatementsRunAgainWithNewValues) {
  make_table();
  for (int i = 0; i < 5; ++i)
    db().exec("INSERT INTO t (id, n) VALUES ($1, $2)",
              {"k" + std::to_string(i), i});
  EXPECT_EQ(count("t"), 5);
  auto r = db().exec("SELECT n FROM t WHERE id = $1", {"k3"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].int64(0), 3);
  EXPECT_TRUE(db().exec("SELECT n FROM t WHERE id = $1", {"zz"}).empty());
}

TEST_P(DatabaseTest, WrongParameterCountFails) {
  make_table();
  EXPECT_THROW(db().exec("SELECT n FROM t WHERE id = $1"), storage_error);
  EXPECT_THROW(db().exec("SELECT n FROM t WHERE id = $1", {"a", "b"}),
               storage_error);
  // The connection stays usable.
  EXPECT_EQ(count("t"), 0);
}

TEST_P(DatabaseTest, SyntaxErrorsAreStorageErrors) {
  try {
    db().exec("SELEC 1");
    FAIL() << "no exception";
  } catch (const conflict_error&) {
    FAIL() << "a syntax error is no conflict";
  } catch (const storage_error& e) {
    EXPECT_NE(std::string(e.what()).find("SELEC"), std::string::npos)
      << e.what();
  }
  EXPECT_EQ(db().exec("SELECT 1").size(), 1u);
}

TEST_P(DatabaseTest, TransactionGuardRollsBackUnlessCommitted) {
  make_table();
  try {
    transaction tx(db());
    db().exec("INSERT INTO t (id) VALUES ($1)", {"a"});
    EXPECT_TRUE(db().in_transaction());
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(count("t"), 0);
  {
    transaction tx(db());
    db().exec("INSERT INTO t (id) VALUES ($1)", {"b"});
    tx.commit();
  }
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(count("t"), 1);
}

TEST_P(DatabaseTest, NestedBeginIsRefused) {
  transaction tx(db());
  EXPECT_THROW(db().begin(), storage_error);
  EXPECT_TRUE(db().in_transaction());
}

TEST_P(DatabaseTest, FailedStatementInTransactionRollsBackCleanly) {
  make_table();
  db().exec("INSERT INTO t (id) VALUES ($1)", {"a"});
  try {
    transaction tx(db());
    db().exec("INSERT INTO t (id) VALUES ($1)", {"b"});
    db().exec("INSERT INTO t (id) VALUES ($1)", {"a"});
    tx.commit();
    FAIL() << "no conflict";
  } catch (const conflict_error& e) {
    EXPECT_EQ(e.constraint, "t.id");
  }
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(count("t"), 1);
  db().exec("INSERT INTO t (id) VALUES ($1)", {"c"});
  EXPECT_EQ(count("t"), 2);
}

TEST_P(DatabaseTest, RollbackWithoutTransactionDoesNothing) {
  EXPECT_NO_THROW(db().rollback());
  EXPECT_THROW(db().commit(), storage_error);
}

TEST_P(DatabaseTest, ConflictsNameTheTableAndColumns) {
  migrate(db());
  db().exec("INSERT INTO orgs (id, slug, name, created_at) "
            "VALUES ('o1', 'acme', 'Acme', '2026-01-01T00:00:00Z')");
  db().exec("INSERT INTO teams (id, org_id, name, created_at) "
            "VALUES ('t1', 'o1', 'red-team', '2026-01-01T00:00:00Z')");
  auto expect_conflict
    = [&](const std::string& sql, const params& args,
          const std::string& constraint, const std::string& secret) {
        try {
          db().exec(sql, args);
          ADD_FAILURE() << "no conflict for " << constraint;
        } catch (const conflict_error& e) {
          EXPECT_EQ(e.constraint, constraint);
          EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos)
            << e.what();
        }
      };
  expect_conflict("INSERT INTO orgs (id, slug, name, created_at) "
                  "VALUES ($1, $2, 'x', 'now')",
                  {"o2", "acme"}, "orgs.slug", "acme");
  expect_conflict("INSERT INTO orgs (id, slug, name, created_at) "
                  "VALUES ($1, $2, 'x', 'now')",
                  {"o1", "other"}, "orgs.id", "o1");
  expect_conflict("INSERT INTO teams (id, org_id, name, created_at) "
                  "VALUES ($1, $2, $3, 'now')",
                  {"t2", "o1", "red-team"}, "teams.name", "red-team");
  db().exec("INSERT INTO usage_counters (org_id, scope_type, scope_id, "
            "month) VALUES ('o1', 'key', 'k1', '2026-01')");
  expect_conflict("INSERT INTO usage_counters (org_id, scope_type, scope_id, "
                  "month) VALUES ($1, $2, $3, $4)",
                  {"o1", "key", "k1", "2026-01"},
                  "usage_counters.scope_type,scope_id,month", "k1");
}

TEST_P(DatabaseTest, ErrorMessagesCarryNoParameterValues) {
  migrate(db());
  const std::string secret = "sk-secret-value-0123456789";
  try {
    // Violates NOT NULL; PostgreSQL's detail would quote the whole row.
    db().exec("INSERT INTO orgs (id, slug, name, created_at) "
              "VALUES ($1, $2, $3, $4)",
              {"o1", secret, secret, nullptr});
    FAIL() << "NOT NULL not enforced";
  } catch (const storage_error& e) {
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos)
      << e.what();
  }
  try {
    db().exec("SELECT CAST($1 AS BIGINT) + 1", {secret});
    if (postgres())
      FAIL() << "no conversion error";
  } catch (const storage_error& e) {
    EXPECT_EQ(std::string(e.what()).find(secret), std::string::npos)
      << e.what();
  }
}

TEST_P(DatabaseTest, RefusedValuesAreDataErrors) {
  migrate(db());
  db().exec("INSERT INTO orgs (id, slug, name, created_at) "
            "VALUES ('o1', 'acme', 'Acme', '2026-01-01T00:00:00Z')");
  // NOT NULL, CHECK and UNIQUE: the values' fault, on both backends.
  EXPECT_THROW(db().exec("INSERT INTO orgs (id, slug, name, created_at) "
                         "VALUES ($1, $2, $3, $4)",
                         {"o2", "globex", "Globex", nullptr}),
               data_error);
  EXPECT_THROW(db().exec("INSERT INTO usage_counters (org_id, scope_type, "
                         "scope_id, month) VALUES ($1, $2, $3, $4)",
                         {"o1", "bogus", "k1", "2026-01"}),
               data_error);
  EXPECT_THROW(db().exec("INSERT INTO orgs (id, slug, name, created_at) "
                         "VALUES ($1, $2, 'x', 'now')",
                         {"o2", "acme"}),
               data_error);
  // A syntax error is not.
  try {
    db().exec("SELEC 1");
    FAIL() << "no exception";
  } catch (const data_error&) {
    FAIL() << "a syntax error is no data error";
  } catch (const storage_error&) {
  }
  // PostgreSQL refuses text that is not UTF-8 or holds a NUL byte; SQLite
  // stores the bytes as they are.
  make_table();
  const std::string invalid = "a\xff\xc0"
                              "b";
  const std::string nul("a\0b", 3);
  if (postgres()) {
    EXPECT_THROW(
      db().exec("INSERT INTO t (id, s) VALUES ($1, $2)", {"x", invalid}),
      data_error);
    EXPECT_THROW(db().exec("INSERT INTO t (id, s) VALUES ($1, $2)", {"y", nul}),
                 data_error);
    EXPECT_EQ(count("t"), 0);
  } else {
    db().exec("INSERT INTO t (id, s) VALUES ($1, $2)", {"x", invalid});
    db().exec("INSERT INTO t (id, s) VALUES ($1, $2)", {"y", nul});
    EXPECT_EQ(db().exec("SELECT s FROM t WHERE id = 'y'").at(0).text(0), nul);
  }
}

TEST_P(DatabaseTest, RunScriptRunsSeveralStatements) {
  db().run_script("CREATE TABLE a (x BIGINT); CREATE TABLE b (y BIGINT);");
  db().exec("INSERT INTO a (x) VALUES ($1)", {1});
  db().exec("INSERT INTO b (y) VALUES ($1)", {2});
  EXPECT_EQ(count("a") + count("b"), 2);
  EXPECT_THROW(db().run_script("CREATE TABLE a (x BIGINT)"), storage_error);
}

TEST_P(DatabaseTest, OpenDatabaseRejectsUnknownSchemes) {
  EXPECT_THROW(open_database("mysql://localhost/x"), storage_error);
  EXPECT_THROW(open_database("sqlite://"), storage_error);
}

TEST(SqliteFile, IsCreatedPrivateWithItsDirectories) {
  testing::temp_dir tmp;
  auto path = tmp.path() + "/a/b/gatehouse.db";
  {
    auto db = open_database("sqlite://" + path);
    db->run_script("CREATE TABLE t (x BIGINT)");
    EXPECT_EQ(db->exec("PRAGMA journal_mode")[0].text(0), "wal");
    EXPECT_EQ(db->exec("PRAGMA foreign_keys")[0].int64(0), 1);
    EXPECT_EQ(db->exec("PRAGMA busy_timeout")[0].int64(0), 5000);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((tmp.path() + "/a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  // Reopening keeps the data.
  auto db = open_database("sqlite://" + path);
  EXPECT_EQ(db->exec("SELECT COUNT(*) FROM t")[0].int64(0), 0);
}

TEST(PostgresConnect, ErrorsNeverShowThePassword) {
  for (const char* url : {"postgresql://u:s3cretpw@127.0.0.1:1/x",
                          "postgresql://u:s3cretpw%zz@127.0.0.1:1/x",
                          "postgres://u:s3cretpw@127.0.0.1:1/x?bogus=1"}) {
    try {
      open_database(url);
      ADD_FAILURE() << "connected to port 1";
    } catch (const connection_error& e) {
      EXPECT_EQ(std::string(e.what()).find("s3cretpw"), std::string::npos)
        << e.what();
    }
  }
}

TEST(DatabaseParsing, RewritesPlaceholdersOutsideLiterals) {
  EXPECT_EQ(rewrite_placeholders("SELECT $1, $12 FROM t WHERE a = $2"),
            "SELECT ?1, ?12 FROM t WHERE a = ?2");
  EXPECT_EQ(rewrite_placeholders("SELECT '$1', 'it''s $2', \"$3\", $4"),
            "SELECT '$1', 'it''s $2', \"$3\", ?4");
  EXPECT_EQ(rewrite_placeholders("SELECT $1 -- $2\n, $3 /* $4 */"),
            "SELECT ?1 -- $2\n, ?3 /* $4 */");
  EXPECT_EQ(rewrite_placeholders("SELECT $a, $"), "SELECT $a, $");
}

TEST(DatabaseParsing, ReadsPostgresConstraintNames) {
  EXPECT_EQ(constraint_from_pg_message(
              "ERROR:  duplicate key value violates unique constraint "
              "\"orgs__slug\"\nDETAIL:  Key (slug)=(a__b) already exists."),
            "orgs.slug");
  // Translated server messages keep the identifier.
  EXPECT_EQ(constraint_from_pg_message(
              "FEHLER:  doppelter Schl\xc3\xbcsselwert verletzt "
              "Unique-Constraint \xc2\xbbproviders__org_id__name\xc2\xab"),
            "providers.name");
  EXPECT_EQ(constraint_from_pg_message(
              "ERROR:  duplicate key value violates unique constraint "
              "\"t_pkey\""),
            "t_pkey");
  EXPECT_EQ(constraint_from_pg_message("something else"), "unknown");
}

TEST_P(DatabaseTest, InsertRowsTakesAnyTextAndManyRows) {
  make_table();
  // Texts that COPY's text format has to escape, and NULLs.
  const std::vector<std::string> texts = {
    "tab\there", "line\nbreak", "cr\rlf", "back\\slash", "\\N", "\\.",
    "", "\xc3\xa9t\xc3\xa9", "end\\"};
  const std::string owned = "borrowed text";
  params values;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    values.emplace_back("r" + std::to_string(i));
    values.emplace_back(-static_cast<std::int64_t>(i) * 1000000007);
    values.emplace_back(texts[i]);
    values.emplace_back(i % 2 == 0);
  }
  values.insert(values.end(), {"null", nullptr, nullptr, nullptr});
  values.insert(values.end(), {"borrowed", 1, param::borrow(owned), true});
  db().insert_rows("t", {"id", "n", "s", "b"}, values);
  auto r = db().exec("SELECT id, n, s, b FROM t ORDER BY id");
  ASSERT_EQ(r.size(), texts.size() + 2);
  EXPECT_EQ(r[0].text(0), "borrowed");
  EXPECT_EQ(r[0].text(2), owned);
  EXPECT_EQ(r[1].text(0), "null");
  EXPECT_TRUE(r[1].is_null(1));
  EXPECT_TRUE(r[1].is_null(2));
  for (std::size_t i = 0; i < texts.size(); ++i) {
    const auto& row = r[i + 2];
    EXPECT_EQ(row.text(0), "r" + std::to_string(i));
    EXPECT_EQ(row.int64(1), -static_cast<std::int64_t>(i) * 1000000007);
    EXPECT_FALSE(row.is_null(2)) << i;
    EXPECT_EQ(row.text(2), texts[i]) << i;
    EXPECT_EQ(row.boolean(3), i % 2 == 0);
  }

  // Many rows, in a transaction; a duplicate key refuses them all.
  params many;
  for (int i = 0; i < 1000; ++i)
    many.insert(many.end(), {"m" + std::to_string(i), i, "x", false});
  {
    transaction tx(db());
    db().insert_rows("t", {"id", "n", "s", "b"}, many);
    tx.commit();
  }
  EXPECT_EQ(count("t"), static_cast<std::int64_t>(texts.size()) + 1002);
  many.insert(many.end(), {"r0", 0, "again", false});
  {
    transaction tx(db());
    EXPECT_THROW(db().insert_rows("t", {"id", "n", "s", "b"}, many),
                 conflict_error);
  }
  EXPECT_FALSE(db().in_transaction());
  EXPECT_EQ(count("t"), static_cast<std::int64_t>(texts.size()) + 1002);
  // The connection goes on working.
  db().insert_rows("t", {"id", "n", "s", "b"}, {"after", 1, "y", true});
  EXPECT_EQ(count("t"), static_cast<std::int64_t>(texts.size()) + 1003);

  EXPECT_THROW(db().insert_rows("t", {"id", "n", "s", "b"}, {"odd", 1}),
               storage_error);
}

TEST(DatabaseParsing, ParamsConvertFromCommonTypes) {
  EXPECT_TRUE(param().is_null());
  EXPECT_TRUE(param(std::nullopt).is_null());
  EXPECT_TRUE(param(static_cast<const char*>(nullptr)).is_null());
  EXPECT_EQ(param(true).integer(), 1);
  EXPECT_EQ(param(std::size_t{42}).to_text(), "42");
  EXPECT_EQ(param(std::string_view("sv")).text(), "sv");
  EXPECT_EQ(param(std::optional<int>(5)).type(), param::kind::integer);
  EXPECT_TRUE(param(std::optional<int>()).is_null());
  std::string text = "lent";
  auto lent = param::borrow(text);
  EXPECT_EQ(lent.type(), param::kind::text);
  text = "changed before use";
  EXPECT_EQ(lent.text(), "changed before use");
  auto copy = lent;
  EXPECT_EQ(copy.to_text(), "changed before use");
}

} // namespace
} // namespace gatehouse::storage
