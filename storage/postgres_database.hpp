#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "storage/database.hpp"

namespace gatehouse::storage {

/// Connects to PostgreSQL with the libpq connection string or URL `url`.
/// Throws connection_error when the server cannot be reached.
std::unique_ptr<database> open_postgres(const std::string& url);

/// Extracts the conflict_error::constraint text from the primary line of a
/// PostgreSQL unique-violation message. Gatehouse names its keys
/// `table__col1__col2`, which survives translated server messages; other
/// names are returned as they are.
std::string constraint_from_pg_message(std::string_view message);

} // namespace gatehouse::storage
