#pragma once

#include <string>

namespace gatehouse::policy {

/// Generates a random (version 4) UUID in lowercase canonical form.
std::string uuid_v4();

} // namespace gatehouse::policy
