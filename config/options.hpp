#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gatehouse::config {

struct settings;

/// How a setting is written in the TOML file.
enum class toml_kind {
  /// Not accepted in the file (secrets, the file path itself).
  none,
  /// A string.
  string,
  /// An integer.
  integer,
  /// A comma-separated string or an array of strings.
  list,
};

/// One setting: its names in every source and how a value is applied.
struct option_def {
  /// TOML key and canonical name.
  std::string_view key;
  /// Command-line flag, empty if the setting has none.
  std::string_view flag;
  /// Environment variable.
  std::string_view env;
  /// Placeholder of the value in the help text.
  std::string_view metavar;
  /// Default shown in the help text.
  std::string_view default_text;
  /// One-line description for the help text.
  std::string_view description;
  /// Type in the TOML file.
  toml_kind in_file;
  /// True if the value must never appear in messages.
  bool secret;
  /// Validates `value` and stores it; returns an error message (without
  /// the source) if it is invalid.
  std::optional<std::string> (*apply)(settings& cfg, std::string_view value);
};

/// Every setting, in help-text order.
const std::vector<option_def>& options();

/// Finds a setting by flag ("--threads"); nullptr if unknown.
const option_def* find_by_flag(std::string_view flag);

/// Finds a setting by environment variable; nullptr if unknown.
const option_def* find_by_env(std::string_view env);

/// Finds a setting by TOML key; nullptr if unknown or not allowed in the
/// file.
const option_def* find_by_key(std::string_view key);

} // namespace gatehouse::config
