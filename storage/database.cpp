#include "storage/database.hpp"

#include <atomic>
#include <charconv>

#include "storage/postgres_database.hpp"
#include "storage/sqlite_database.hpp"

namespace gatehouse::storage {

conflict_error::conflict_error(std::string constraint_in,
                               const std::string& what)
  : data_error(what), constraint(std::move(constraint_in)) {}

std::string param::to_text() const {
  switch (kind_) {
  case kind::integer:
    return std::to_string(integer_);
  case kind::text:
    return text();
  default:
    return {};
  }
}

const value& row::at(std::size_t i) const {
  if (i >= columns_.size())
    throw storage_error("result column " + std::to_string(i) + " out of range");
  return columns_[i];
}

std::string row::text(std::size_t i) const {
  const auto& v = at(i);
  return v ? *v : std::string{};
}

std::int64_t row::int64(std::size_t i) const {
  auto v = opt_int64(i);
  if (!v)
    throw storage_error("result column " + std::to_string(i) + " is NULL");
  return *v;
}

std::optional<std::int64_t> row::opt_int64(std::size_t i) const {
  const auto& v = at(i);
  if (!v)
    return std::nullopt;
  std::int64_t out = 0;
  const char* first = v->data();
  const char* last = first + v->size();
  auto [end, ec] = std::from_chars(first, last, out);
  if (ec != std::errc{} || end != last)
    throw storage_error("result column " + std::to_string(i)
                        + " is not an integer");
  return out;
}

bool row::boolean(std::size_t i) const {
  const auto& v = at(i);
  if (!v)
    return false;
  return *v == "1" || *v == "t" || *v == "true";
}

database::~database() = default;

namespace {
std::atomic<std::uint64_t> statements{0};
} // namespace

std::uint64_t statements_run() noexcept {
  return statements.load(std::memory_order_relaxed);
}

void count_statement() noexcept {
  statements.fetch_add(1, std::memory_order_relaxed);
}

std::unique_ptr<database> open_database(const std::string& url) {
  auto starts_with = [&](std::string_view prefix) {
    return url.compare(0, prefix.size(), prefix) == 0;
  };
  if (starts_with("sqlite://"))
    return open_sqlite(url.substr(9));
  if (starts_with("postgresql://") || starts_with("postgres://"))
    return open_postgres(url);
  throw storage_error("unsupported database URL: expected sqlite://PATH or "
                      "postgresql://...");
}

transaction::transaction(database& db) : db_(db) {
  db_.begin();
}

transaction::~transaction() {
  if (done_)
    return;
  try {
    db_.rollback();
  } catch (...) {
    // Destructors must not throw; a failed rollback leaves a broken
    // connection that the pool replaces.
  }
}

void transaction::commit() {
  done_ = true;
  db_.commit();
}

namespace detail {

std::string constraint_name(std::string_view table,
                            const std::vector<std::string>& columns) {
  std::size_t first = 0;
  // Keys scoped by organization are named by the column that collides
  // inside the organization.
  if (columns.size() > 1 && columns.front() == "org_id")
    first = 1;
  std::string out(table);
  out += '.';
  for (std::size_t i = first; i < columns.size(); ++i) {
    if (i > first)
      out += ',';
    out += columns[i];
  }
  return out;
}

} // namespace detail

} // namespace gatehouse::storage
