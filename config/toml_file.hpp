#pragma once

#include <string>

namespace gatehouse::config {

struct settings;

/// Reads the TOML file at `path` and applies its keys to `cfg`. Throws
/// config_error if the file cannot be read or parsed, holds an unknown key
/// or a value of the wrong type, or a value is invalid.
void apply_toml_file(settings& cfg, const std::string& path);

} // namespace gatehouse::config
