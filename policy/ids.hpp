#pragma once

#include <string>

namespace gatehouse::policy {

/// Generates a random (version 4) UUID in lowercase canonical form.
std::string uuid_v4();

/// Generates a time-ordered (version 7, RFC 9562) UUID for `unix_ms`: 48
/// bits of milliseconds, then 74 random bits. Ids made later sort later, so
/// rows keyed by them are appended to the end of an index instead of
/// landing on a random page. The random bits come from a generator per
/// thread seeded from the system's CSPRNG (no system call per id); they
/// make ids unique, not secret.
std::string uuid_v7(long long unix_ms);

} // namespace gatehouse::policy
