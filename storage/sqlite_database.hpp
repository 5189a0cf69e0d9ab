#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/database.hpp"

namespace gatehouse::storage {

/// Opens the SQLite database file at `path`, creating it with mode 0600 (and
/// missing directories with 0700), in WAL mode with foreign keys on and a
/// 5 s busy timeout. `:memory:` opens a private in-memory database.
std::unique_ptr<database> open_sqlite(const std::string& path);

/// Rewrites PostgreSQL-style `$N` placeholders to SQLite's `?N`, leaving
/// string literals, quoted identifiers and comments untouched.
std::string rewrite_placeholders(std::string_view sql);

} // namespace gatehouse::storage
