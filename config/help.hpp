#pragma once

#include <string>

namespace gatehouse::config {

/// Returns the `--help` text: usage, commands, and every setting with its
/// flag, environment variable and default.
std::string help_text();

/// Returns the `--version` text: "gatehouse <version>".
std::string version_text();

} // namespace gatehouse::config
