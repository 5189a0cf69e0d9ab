#pragma once

#include <string>
#include <vector>

namespace gatehouse::storage {

class database;

/// One schema change: statements in portable SQL that run, together with
/// the schema_migrations record, in one transaction.
struct migration {
  int version;
  std::string description;
  std::vector<std::string> statements;
};

/// Every migration this build knows, ordered by version.
const std::vector<migration>& migrations();

/// The version of the newest migration this build knows.
int latest_schema_version();

/// Applies the pending migrations in order, each in its own transaction,
/// and returns how many were applied (0 when the schema is current). Safe
/// to run from several processes at once. Throws storage_error.
int migrate(database& db);

/// Like migrate(), but stops after `version`: the schema of an older
/// release (for upgrade tests and tooling).
int migrate_to(database& db, int version);

/// The version of the newest migration applied to `db`; 0 for an empty
/// database.
int schema_version(database& db);

} // namespace gatehouse::storage
