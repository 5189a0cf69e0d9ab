#pragma once

#include <stdexcept>
#include <string>

namespace gatehouse::storage {

// The exceptions of the storage layer, apart from the database interface
// so that users of the store see them without it.

/// Any failure of the database layer. The message names the statement and
/// the database's error, never a parameter value.
struct storage_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The connection to the database is gone (or could not be made).
struct connection_error : storage_error {
  using storage_error::storage_error;
};

/// A change refused because it would leave an organization without an
/// active owner (see store::update_membership). Nothing was written.
struct last_owner_error : storage_error {
  last_owner_error()
    : storage_error("the last owner cannot be removed, demoted or "
                    "suspended") {}
};

/// A pagination cursor that the store did not issue (or that was altered):
/// the caller's mistake, not the database's.
struct bad_cursor : storage_error {
  using storage_error::storage_error;
};

/// The database refused the data of a statement: a constraint, an encoding
/// or a value it cannot hold. The same statement with the same values would
/// fail again, unlike a lost connection or a busy database.
struct data_error : storage_error {
  using storage_error::storage_error;
};

/// A UNIQUE or PRIMARY KEY constraint was violated.
struct conflict_error : data_error {
  /// Builds the error for `constraint` (see the member).
  conflict_error(std::string constraint, const std::string& what);

  /// The violated key as `table.column`, e.g. `orgs.slug`. A key scoped by
  /// an organization, such as UNIQUE(org_id, name), is named by its other
  /// columns (`teams.name`); several columns are joined with commas
  /// (`usage_counters.scope_type,scope_id,month`).
  std::string constraint;
};

} // namespace gatehouse::storage
