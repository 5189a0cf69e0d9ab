#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "storage/errors.hpp"

namespace gatehouse::storage {

/// A column value in its text form; std::nullopt is SQL NULL.
using value = std::optional<std::string>;

/// A statement parameter: NULL, a 64-bit integer or text. Booleans are
/// stored as the integers 0 and 1.
class param {
public:
  /// The kinds of value a parameter holds.
  enum class kind { null, integer, text };

  /// SQL NULL.
  param() noexcept = default;

  /// SQL NULL.
  param(std::nullopt_t) noexcept {}

  /// SQL NULL.
  param(std::nullptr_t) noexcept {}

  /// The integer 1 or 0.
  param(bool b) noexcept : kind_(kind::integer), integer_(b ? 1 : 0) {}

  /// An integer (within the range of std::int64_t).
  template <class T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>,
                             int> = 0>
  param(T v) noexcept
    : kind_(kind::integer), integer_(static_cast<std::int64_t>(v)) {}

  /// Text.
  param(std::string s) : kind_(kind::text), text_(std::move(s)) {}

  /// Text.
  param(std::string_view s) : kind_(kind::text), text_(s) {}

  /// Text; a null pointer is SQL NULL.
  param(const char* s) {
    if (s != nullptr) {
      kind_ = kind::text;
      text_ = s;
    }
  }

  /// NULL when `v` is empty, else its value.
  template <class T>
  param(const std::optional<T>& v) {
    if (v)
      *this = param(*v);
  }

  /// Text borrowed from `s` rather than copied: `s` must outlive every use
  /// of the parameter (a statement's arguments built just before it runs).
  static param borrow(const std::string& s) noexcept {
    param p;
    p.kind_ = kind::text;
    p.borrowed_ = &s;
    return p;
  }

  /// The kind of value held.
  kind type() const noexcept {
    return kind_;
  }

  /// True for SQL NULL.
  bool is_null() const noexcept {
    return kind_ == kind::null;
  }

  /// The integer; meaningful only for kind::integer.
  std::int64_t integer() const noexcept {
    return integer_;
  }

  /// The text; meaningful only for kind::text.
  const std::string& text() const noexcept {
    return borrowed_ != nullptr ? *borrowed_ : text_;
  }

  /// The value as text (decimal for integers); empty for NULL.
  std::string to_text() const;

private:
  kind kind_ = kind::null;
  std::int64_t integer_ = 0;
  std::string text_;
  const std::string* borrowed_ = nullptr;
};

/// Statement parameters, bound to `$1`, `$2`, ... in order.
using params = std::vector<param>;

/// One result row. Every value arrives as text (integers in decimal).
class row {
public:
  /// Wraps the column values.
  explicit row(std::vector<value> columns) : columns_(std::move(columns)) {}

  /// Number of columns.
  std::size_t size() const noexcept {
    return columns_.size();
  }

  /// Column `i` as it arrived; throws storage_error when out of range.
  const value& at(std::size_t i) const;

  /// True when column `i` is NULL.
  bool is_null(std::size_t i) const {
    return !at(i).has_value();
  }

  /// Column `i` as text; NULL gives the empty string.
  std::string text(std::size_t i) const;

  /// Column `i` as text, or nullopt for NULL.
  std::optional<std::string> opt_text(std::size_t i) const {
    return at(i);
  }

  /// Column `i` as an integer; throws storage_error for NULL or non-numbers.
  std::int64_t int64(std::size_t i) const;

  /// Column `i` as an integer, or nullopt for NULL.
  std::optional<std::int64_t> opt_int64(std::size_t i) const;

  /// Column `i` as a boolean: 1, t or true are true; NULL is false.
  bool boolean(std::size_t i) const;

private:
  std::vector<value> columns_;
};

/// A statement's result rows.
using rows = std::vector<row>;

/// One connection to a database. SQL is written once, with PostgreSQL-style
/// `$1..$N` placeholders, and runs on either backend. Not thread-safe: use
/// one object per thread (see connection_pool).
class database {
public:
  virtual ~database();

  /// Runs one statement with `args` bound to its placeholders and returns
  /// the result rows (none for statements without results or RETURNING).
  /// The prepared form is cached per distinct SQL text. Throws
  /// conflict_error on a unique violation, data_error when the database
  /// refuses a value (another constraint, an encoding, a NUL byte for
  /// PostgreSQL), connection_error when the connection is lost,
  /// storage_error otherwise.
  virtual rows exec(std::string_view sql, const params& args) = 0;

  /// Runs one statement without parameters.
  rows exec(std::string_view sql) {
    return exec(sql, params{});
  }

  /// Adds rows to `table` the fastest way the backend has (multi-row
  /// INSERTs with SQLite, COPY with PostgreSQL): `values` holds one
  /// parameter for each of `columns`, row after row. Throws as exec does;
  /// inside a transaction, a failure leaves the transaction to be rolled
  /// back.
  virtual void insert_rows(std::string_view table,
                           const std::vector<std::string>& columns,
                           const params& values)
    = 0;

  /// Runs SQL text without parameters or results, and without caching it:
  /// DDL and administrative commands. May hold several statements.
  virtual void run_script(std::string_view sql) = 0;

  /// Opens a transaction; throws storage_error if one is already open.
  virtual void begin() = 0;

  /// Commits the open transaction.
  virtual void commit() = 0;

  /// Rolls the open transaction back; does nothing without one.
  virtual void rollback() = 0;

  /// True while a transaction is open.
  virtual bool in_transaction() const noexcept = 0;

  /// False once the connection is known to be lost.
  virtual bool is_open() const noexcept = 0;

  /// `sqlite` or `postgresql`.
  virtual std::string_view dialect() const noexcept = 0;
};

/// Statements run by every connection of this process so far (exec and
/// scripts), for the operator's metrics.
std::uint64_t statements_run() noexcept;

/// Counts one statement; called by the backends.
void count_statement() noexcept;

/// Opens `url`: `sqlite://PATH` (the file and its directories are created,
/// mode 0600/0700) or `postgresql://...` / `postgres://...` (passed to
/// libpq as the connection string). Throws storage_error (connection_error
/// when the server cannot be reached); the message never holds the URL.
std::unique_ptr<database> open_database(const std::string& url);

/// Opens a transaction on construction and rolls it back on destruction
/// unless commit() was called, so that an exception leaves nothing behind.
class transaction {
public:
  /// Begins a transaction on `db`.
  explicit transaction(database& db);

  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;

  /// Rolls back unless committed.
  ~transaction();

  /// Commits; the guard does nothing afterwards.
  void commit();

private:
  database& db_;
  bool done_ = false;
};

namespace detail {

/// Builds the conflict_error::constraint text from a table and the columns
/// of the violated key.
std::string constraint_name(std::string_view table,
                            const std::vector<std::string>& columns);

} // namespace detail

} // namespace gatehouse::storage
