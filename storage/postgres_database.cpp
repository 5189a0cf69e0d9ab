#include "storage/postgres_database.hpp"

#include <cctype>
#include <charconv>
#include <unordered_map>
#include <vector>

#include <pqxx/pqxx>
#include <pqxx/tablewriter>

namespace gatehouse::storage {

std::string constraint_from_pg_message(std::string_view message) {
  auto line = message.substr(0, message.find('\n'));
  auto is_ident = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  std::size_t i = 0;
  while (i < line.size()) {
    if (!is_ident(line[i])) {
      ++i;
      continue;
    }
    auto start = i;
    while (i < line.size() && is_ident(line[i]))
      ++i;
    auto word = line.substr(start, i - start);
    if (word.find("__") == std::string_view::npos)
      continue;
    std::vector<std::string> parts;
    for (std::size_t pos = 0;;) {
      auto next = word.find("__", pos);
      parts.emplace_back(word.substr(pos, next - pos));
      if (next == std::string_view::npos)
        break;
      pos = next + 2;
    }
    std::string table = std::move(parts.front());
    parts.erase(parts.begin());
    return detail::constraint_name(table, parts);
  }
  // A key named otherwise (not one of Gatehouse's): its raw name.
  auto open = line.find('"');
  if (open != std::string_view::npos) {
    auto close = line.find('"', open + 1);
    if (close != std::string_view::npos)
      return std::string(line.substr(open + 1, close - open - 1));
  }
  return "unknown";
}

namespace {

/// The first line of a server message.
std::string first_line(const char* what) {
  std::string_view text(what);
  return std::string(text.substr(0, text.find('\n')));
}

/// `message` with the password of `url` (postgresql://user:PASSWORD@...)
/// masked: libpq quotes the parts of a URL it cannot parse.
std::string without_password(std::string message, const std::string& url) {
  auto start = url.find("://");
  auto at = url.find('@', start == std::string::npos ? 0 : start + 3);
  if (start == std::string::npos || at == std::string::npos)
    return message;
  auto colon = url.find(':', start + 3);
  if (colon == std::string::npos || colon > at || colon + 1 == at)
    return message;
  auto password = url.substr(colon + 1, at - colon - 1);
  for (auto pos = message.find(password); pos != std::string::npos;
       pos = message.find(password, pos))
    message.replace(pos, password.size(), "***");
  return message;
}

/// Opens the connection, translating failures.
std::unique_ptr<pqxx::connection> connect(const std::string& url) {
  try {
    return std::make_unique<pqxx::connection>(url);
  } catch (const std::exception& e) {
    throw connection_error("cannot connect to PostgreSQL: "
                           + without_password(first_line(e.what()), url));
  }
}

class postgres_database final : public database {
public:
  explicit postgres_database(const std::string& url)
    : owned_(connect(url)), conn_(*owned_) {}

  ~postgres_database() override {
    try {
      tx_.reset();
    } catch (...) {
      // Nothing useful to do while tearing the connection down.
    }
  }

  using database::exec;

  rows exec(std::string_view sql, const params& args) override {
    count_statement();
    std::vector<std::string> numbers(args.size());
    std::vector<const char*> values(args.size(), nullptr);
    for (std::size_t i = 0; i < args.size(); ++i) {
      const auto& a = args[i];
      if (a.type() == param::kind::integer) {
        numbers[i] = a.to_text();
        values[i] = numbers[i].c_str();
      } else if (a.type() == param::kind::text) {
        if (a.text().find('\0') != std::string::npos)
          throw data_error("parameter " + std::to_string(i + 1)
                           + " holds a NUL byte: " + std::string(sql));
        values[i] = a.text().c_str();
      }
    }
    try {
      const std::string& name = statement(sql);
      auto dynamic = pqxx::prepare::make_dynamic_params(values);
      pqxx::result result;
      if (tx_) {
        result = tx_->exec_prepared(name, dynamic);
      } else {
        pqxx::nontransaction once(conn_);
        result = once.exec_prepared(name, dynamic);
      }
      rows out;
      out.reserve(result.size());
      for (const auto& r : result) {
        std::vector<value> columns;
        columns.reserve(r.size());
        for (const auto& field : r) {
          if (field.is_null())
            columns.emplace_back(std::nullopt);
          else
            columns.emplace_back(std::string(field.c_str(), field.size()));
        }
        out.emplace_back(std::move(columns));
      }
      return out;
    } catch (...) {
      translate(sql);
    }
  }

  void insert_rows(std::string_view table,
                   const std::vector<std::string>& columns,
                   const params& values) override {
    count_statement();
    const std::size_t width = columns.size();
    if (width == 0 || values.size() % width != 0)
      throw storage_error("insert_rows: " + std::to_string(values.size())
                          + " values for " + std::to_string(width)
                          + " columns");
    const std::string what = "COPY " + std::string(table);
    // Refused before the copy starts: a copy cut short would end as if
    // complete, with the rows sent so far.
    for (std::size_t i = 0; i < values.size(); ++i) {
      const auto& v = values[i];
      if (v.type() == param::kind::text
          && v.text().find('\0') != std::string::npos)
        throw data_error("value " + std::to_string(i + 1)
                         + " holds a NUL byte: " + what);
    }
    try {
      if (tx_) {
        copy(*tx_, table, columns, values);
      } else {
        pqxx::nontransaction once(conn_);
        copy(once, table, columns, values);
      }
    } catch (...) {
      translate(what);
    }
  }

  void run_script(std::string_view sql) override {
    count_statement();
    try {
      if (tx_) {
        tx_->exec(std::string(sql));
      } else {
        pqxx::nontransaction once(conn_);
        once.exec(std::string(sql));
      }
    } catch (...) {
      translate(sql);
    }
  }

  void begin() override {
    if (tx_)
      throw storage_error("a transaction is already open");
    try {
      tx_ = std::make_unique<pqxx::work>(conn_);
    } catch (...) {
      translate("BEGIN");
    }
  }

  void commit() override {
    if (!tx_)
      throw storage_error("commit without a transaction");
    auto tx = std::move(tx_);
    try {
      tx->commit();
    } catch (...) {
      translate("COMMIT");
    }
  }

  void rollback() override {
    if (!tx_)
      return;
    auto tx = std::move(tx_);
    try {
      tx->abort();
    } catch (...) {
      translate("ROLLBACK");
    }
  }

  bool in_transaction() const noexcept override {
    return tx_ != nullptr;
  }

  bool is_open() const noexcept override {
    return !broken_ && conn_.is_open();
  }

  std::string_view dialect() const noexcept override {
    return "postgresql";
  }

private:
  /// The name of the prepared statement for `sql`, preparing it on first
  /// use on this connection.
  const std::string& statement(std::string_view sql) {
    std::string key(sql);
    auto it = names_.find(key);
    if (it != names_.end())
      return it->second;
    std::string name = "gh_" + std::to_string(names_.size() + 1);
    conn_.prepare(name, key);
    return names_.emplace(std::move(key), std::move(name)).first->second;
  }

  /// Sends `values` to `table` with COPY ... FROM STDIN in its text
  /// format, lines of up to about 64 KiB at a time.
  static void copy(pqxx::transaction_base& t, std::string_view table,
                   const std::vector<std::string>& columns,
                   const params& values) {
    constexpr std::size_t flush_at = 64 * 1024;
    // libpqxx 6 deprecates tablewriter for stream_to, whose rows must be
    // tuples of values it converts and escapes itself; tablewriter takes
    // the text we build here as it is.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    pqxx::tablewriter writer(t, std::string(table), columns.begin(),
                             columns.end());
#pragma GCC diagnostic pop
    const std::size_t width = columns.size();
    std::string text;
    text.reserve(flush_at + 4096);
    for (std::size_t i = 0; i < values.size(); ++i) {
      const std::size_t column = i % width;
      if (column > 0)
        text += '\t';
      append_copy_value(text, values[i]);
      if (column + 1 < width)
        continue;
      // write_raw_line ends the text with a newline of its own: several
      // rows go in one call, separated by newlines.
      if (text.size() >= flush_at || i + 1 == values.size()) {
        writer.write_raw_line(text);
        text.clear();
      } else {
        text += '\n';
      }
    }
    writer.complete();
  }

  /// Appends `v` in COPY's text format: \N for NULL, backslash escapes
  /// for the backslash and the separators.
  static void append_copy_value(std::string& out, const param& v) {
    switch (v.type()) {
    case param::kind::null:
      out += "\\N";
      return;
    case param::kind::integer: {
      char digits[24];
      auto done = std::to_chars(digits, digits + sizeof digits, v.integer());
      out.append(digits, done.ptr);
      return;
    }
    case param::kind::text:
      break;
    }
    const std::string& text = v.text();
    std::size_t from = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      const char* escaped = c == '\\'   ? "\\\\"
                            : c == '\t' ? "\\t"
                            : c == '\n' ? "\\n"
                            : c == '\r' ? "\\r"
                                        : nullptr;
      if (escaped == nullptr)
        continue;
      out.append(text, from, i - from).append(escaped);
      from = i + 1;
    }
    out.append(text, from, std::string::npos);
  }

  /// Rethrows the exception in flight as a storage exception. Messages
  /// with data (integrity and data errors, whose details quote values) are
  /// reduced to their SQLSTATE.
  [[noreturn]] void translate(std::string_view sql) {
    try {
      throw;
    } catch (const storage_error&) {
      throw;
    } catch (const pqxx::broken_connection&) {
      lost();
      throw connection_error("PostgreSQL connection lost");
    } catch (const pqxx::in_doubt_error&) {
      lost();
      throw connection_error("PostgreSQL connection lost during COMMIT; "
                             "the outcome is unknown");
    } catch (const pqxx::unique_violation& e) {
      auto constraint = constraint_from_pg_message(first_line(e.what()));
      throw conflict_error(constraint,
                           "PostgreSQL: unique violation of " + constraint);
    } catch (const pqxx::sql_error& e) {
      const std::string& state = e.sqlstate();
      std::string msg = "PostgreSQL error " + state;
      // Classes 22 (data exception: encoding, range, format) and 23
      // (integrity constraint) are about the values sent.
      bool data
        = state.compare(0, 2, "22") == 0 || state.compare(0, 2, "23") == 0;
      if (data)
        throw data_error(msg + " in: " + std::string(sql));
      throw storage_error(msg + ": " + first_line(e.what())
                          + " in: " + std::string(sql));
    } catch (const std::exception& e) {
      throw storage_error("PostgreSQL: " + first_line(e.what())
                          + " in: " + std::string(sql));
    }
  }

  void lost() noexcept {
    broken_ = true;
    try {
      tx_.reset();
    } catch (...) {
      // The connection is gone; so is its transaction.
    }
  }

  std::unique_ptr<pqxx::connection> owned_;
  pqxx::connection& conn_;
  std::unique_ptr<pqxx::work> tx_;
  std::unordered_map<std::string, std::string> names_;
  bool broken_ = false;
};

} // namespace

std::unique_ptr<database> open_postgres(const std::string& url) {
  return std::make_unique<postgres_database>(url);
}

} // namespace gatehouse::storage
