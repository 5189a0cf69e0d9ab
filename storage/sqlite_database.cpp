#include "storage/sqlite_database.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

namespace gatehouse::storage {

std::string rewrite_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size());
  std::size_t i = 0;
  auto copy_until = [&](std::string_view terminator) {
    auto end = sql.find(terminator, i);
    end = end == std::string_view::npos ? sql.size() : end + terminator.size();
    out.append(sql.substr(i, end - i));
    i = end;
  };
  while (i < sql.size()) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      // A doubled quote inside a literal is an escaped quote; scanning to
      // the next quote and continuing handles it as two literals.
      out += c;
      ++i;
      copy_until(std::string_view(&c, 1));
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      out += "/*";
      i += 2;
      copy_until("*/");
    } else if (c == '$' && i + 1 < sql.size()
               && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += '?';
      ++i;
      while (i < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i])))
        out += sql[i++];
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

namespace {

/// Creates the directories above `path` (mode 0700) and the file itself
/// (mode 0600) when they do not exist yet.
void create_file(const std::string& path) {
  for (auto pos = path.find('/', 1); pos != std::string::npos;
       pos = path.find('/', pos + 1)) {
    auto dir = path.substr(0, pos);
    if (::mkdir(dir.c_str(), 0700) == 0)
      ::chmod(dir.c_str(), 0700); // whatever the umask
    else if (errno != EEXIST)
      throw storage_error("cannot create directory " + dir + ": "
                          + std::strerror(errno));
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::fchmod(fd, 0600); // whatever the umask
    ::close(fd);
  } else if (errno != EEXIST) {
    throw storage_error("cannot create database file " + path + ": "
                        + std::strerror(errno));
  }
}

class sqlite_database final : public database {
public:
  explicit sqlite_database(const std::string& path) {
    int flags
      = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      throw connection_error("cannot open SQLite database " + path + ": "
                             + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    try {
      run_script("PRAGMA busy_timeout=5000;"
                 "PRAGMA journal_mode=WAL;"
                 "PRAGMA synchronous=NORMAL;"
                 // Statement journals (a multi-row insert or upsert keeps
                 // one, to undo itself alone) and sorts stay in memory:
                 // on disk they cost two writes for each log row.
                 "PRAGMA temp_store=MEMORY;"
                 "PRAGMA foreign_keys=ON;");
    } catch (...) {
      sqlite3_close_v2(db_);
      throw;
    }
  }

  ~sqlite_database() override {
    for (auto& entry : cache_)
      sqlite3_finalize(entry.second);
    sqlite3_close_v2(db_);
  }

  using database::exec;

  rows exec(std::string_view sql, const params& args) override {
    count_statement();
    sqlite3_stmt* stmt = prepare(sql);
    // Leave the cached statement reset and unbound whatever happens.
    reset_guard guard{stmt};
    bind(stmt, args.data(), args.size(), sql);
    rows out;
    int columns = sqlite3_column_count(stmt);
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE)
        break;
      if (rc != SQLITE_ROW)
        fail(rc, sql);
      std::vector<value> values;
      values.reserve(static_cast<std::size_t>(columns));
      for (int c = 0; c < columns; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          values.emplace_back(std::nullopt);
        } else {
          auto text
            = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, c));
          values.emplace_back(std::string(text, size));
        }
      }
      out.emplace_back(std::move(values));
    }
    return out;
  }

  void insert_rows(std::string_view table,
                   const std::vector<std::string>& columns,
                   const params& values) override {
    const std::size_t width = columns.size();
    if (width == 0 || values.size() % width != 0)
      throw storage_error("insert_rows: " + std::to_string(values.size())
                          + " values for " + std::to_string(width)
                          + " columns");
    // Statements of 2^k rows, as many as the parameter limit allows: a
    // few statement texts serve any number of rows.
    const auto limit = static_cast<std::size_t>(
      sqlite3_limit(db_, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
    std::size_t most = 1;
    while (most * 2 <= max_insert_rows && most * 2 * width <= limit)
      most *= 2;
    const std::string what = "INSERT INTO " + std::string(table);
    std::size_t left = values.size() / width;
    const param* next = values.data();
    while (left > 0) {
      std::size_t n = most;
      while (n > left)
        n /= 2;
      count_statement();
      sqlite3_stmt* stmt = prepare_insert(table, columns, n);
      reset_guard guard{stmt};
      bind(stmt, next, n * width, what);
      int rc = sqlite3_step(stmt);
      if (rc != SQLITE_DONE)
        fail(rc, what);
      next += n * width;
      left -= n;
    }
  }

  void run_script(std::string_view sql) override {
    count_statement();
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      throw storage_error("SQLite: " + msg);
    }
  }

  void begin() override {
    if (in_transaction())
      throw storage_error("a transaction is already open");
    // IMMEDIATE takes the write lock at once: two writers never deadlock on
    // a lock upgrade, the second one waits for busy_timeout instead.
    exec("BEGIN IMMEDIATE");
  }

  void commit() override {
    if (!in_transaction())
      throw storage_error("commit without a transaction");
    try {
      exec("COMMIT");
    } catch (...) {
      rollback();
      throw;
    }
  }

  void rollback() override {
    if (in_transaction())
      exec("ROLLBACK");
  }

  bool in_transaction() const noexcept override {
    return sqlite3_get_autocommit(db_) == 0;
  }

  bool is_open() const noexcept override {
    return true;
  }

  std::string_view dialect() const noexcept override {
    return "sqlite";
  }

private:
  /// The most rows insert_rows puts in one statement: fewer, larger
  /// statements cost less per row (bench/log_rows: 64 -> 256 rows, about
  /// 10 % less CPU), and beyond 256 nothing more is won. The parameter
  /// limit (32766 since SQLite 3.32) may lower it.
  static constexpr std::size_t max_insert_rows = 256;

  /// Resets a cached statement and clears its bindings on the way out.
  struct reset_guard {
    sqlite3_stmt* s;
    ~reset_guard() {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  };

  /// Binds `args[0, n)` to the parameters of `stmt`, which must be as many.
  void bind(sqlite3_stmt* stmt, const param* args, std::size_t n,
            std::string_view sql) {
    auto expected
      = static_cast<std::size_t>(sqlite3_bind_parameter_count(stmt));
    if (expected != n)
      throw storage_error("statement expects " + std::to_string(expected)
                          + " parameters, got " + std::to_string(n) + ": "
                          + std::string(sql));
    for (std::size_t i = 0; i < n; ++i) {
      int index = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      const auto& a = args[i];
      switch (a.type()) {
      case param::kind::null:
        rc = sqlite3_bind_null(stmt, index);
        break;
      case param::kind::integer:
        rc = sqlite3_bind_int64(stmt, index, a.integer());
        break;
      case param::kind::text:
        rc = sqlite3_bind_text64(stmt, index, a.text().data(), a.text().size(),
                                 SQLITE_STATIC, SQLITE_UTF8);
        break;
      }
      if (rc != SQLITE_OK)
        fail(rc, sql);
    }
  }

  /// The prepared INSERT of `rows` rows into `table`.
  sqlite3_stmt* prepare_insert(std::string_view table,
                               const std::vector<std::string>& columns,
                               std::size_t rows) {
    std::string key(table);
    for (const auto& c : columns)
      key.append(1, ',').append(c);
    key.append(1, '*').append(std::to_string(rows));
    auto it = inserts_.find(key);
    if (it != inserts_.end())
      return it->second;
    std::string sql = "INSERT INTO " + std::string(table) + " (";
    for (std::size_t c = 0; c < columns.size(); ++c)
      sql.append(c == 0 ? "" : ", ").append(columns[c]);
    sql += ") VALUES ";
    for (std::size_t r = 0; r < rows; ++r) {
      sql += r == 0 ? "(" : ", (";
      for (std::size_t c = 0; c < columns.size(); ++c)
        sql += c == 0 ? "?" : ", ?";
      sql += ")";
    }
    sqlite3_stmt* stmt = prepare(sql);
    inserts_.emplace(std::move(key), stmt);
    return stmt;
  }

  sqlite3_stmt* prepare(std::string_view sql) {
    std::string key(sql);
    auto it = cache_.find(key);
    if (it != cache_.end())
      return it->second;
    auto text = rewrite_placeholders(sql);
    sqlite3_stmt* stmt = nullptr;
    const char* tail = nullptr;
    int rc
      = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                           SQLITE_PREPARE_PERSISTENT, &stmt, &tail);
    if (rc != SQLITE_OK)
      fail(rc, sql);
    if (stmt == nullptr)
      throw storage_error("empty statement");
    for (; tail && *tail; ++tail) {
      if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') {
        sqlite3_finalize(stmt);
        throw storage_error("exec takes one statement: " + key);
      }
    }
    cache_.emplace(std::move(key), stmt);
    return stmt;
  }

  /// Throws the exception matching `rc`: data_error for the values' fault
  /// (a constraint, a type, a size), storage_error for the database's
  /// (busy, I/O, full disk). SQLite's messages name tables, columns and
  /// constraints but never bound values.
  [[noreturn]] void fail(int rc, std::string_view sql) {
    std::string msg = sqlite3_errmsg(db_);
    if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
      throw conflict_error(parse_constraint(msg), "SQLite: " + msg);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
      throw data_error("SQLite: " + msg + " (" + sqlite3_errstr(rc)
                       + ") in: " + std::string(sql));
    default:
      break;
    }
    throw storage_error("SQLite: " + msg + " (" + sqlite3_errstr(rc)
                        + ") in: " + std::string(sql));
  }

  /// Turns "UNIQUE constraint failed: t.a, t.b" into the constraint text.
  static std::string parse_constraint(const std::string& msg) {
    auto colon = msg.find(": ");
    if (colon == std::string::npos)
      return msg;
    std::string table;
    std::vector<std::string> columns;
    std::string_view list(msg);
    list.remove_prefix(colon + 2);
    while (!list.empty()) {
      auto comma = list.find(", ");
      auto item = list.substr(0, comma);
      auto dot = item.find('.');
      if (dot != std::string_view::npos) {
        table = std::string(item.substr(0, dot));
        columns.emplace_back(item.substr(dot + 1));
      } else {
        columns.emplace_back(item);
      }
      if (comma == std::string_view::npos)
        break;
      list.remove_prefix(comma + 2);
    }
    return detail::constraint_name(table, columns);
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, sqlite3_stmt*> cache_;
  /// insert_rows' statements (also in cache_, which owns them) by table,
  /// columns and rows.
  std::unordered_map<std::string, sqlite3_stmt*> inserts_;
};

} // namespace

std::unique_ptr<database> open_sqlite(const std::string& path) {
  if (path.empty())
    throw storage_error("sqlite:// URL without a path");
  if (path != ":memory:")
    create_file(path);
  return std::make_unique<sqlite_database>(path);
}

} // namespace gatehouse::storage
