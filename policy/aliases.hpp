#pragma once

// Model aliases: names a client may send as a request's `model` that the
// gateway replaces by a target model before choosing a provider.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "policy/outcome.hpp"

namespace gatehouse::policy {

/// One level's aliases (an org's or an app's): alias name -> target model.
using alias_table = std::map<std::string, std::string, std::less<>>;

/// Limits on what a tenant may write, checked by `parse_aliases`.
constexpr std::size_t max_aliases = 200;
constexpr std::size_t max_alias_name_bytes = 128;
constexpr std::size_t max_alias_target_bytes = 256;

/// Reads one level's aliases from `value`, a JSON object of strings. Names
/// and targets are non-empty valid UTF-8 without whitespace or control
/// characters, names at most `max_alias_name_bytes`, targets at most
/// `max_alias_target_bytes`, at most `max_aliases` entries. A target may
/// not be a name of the same table (aliases resolve in one step and do not
/// chain). Errors are 400 `invalid_request` naming the field, as
/// `field 'aliases.fast': ...`.
outcome<alias_table> parse_aliases(const nlohmann::json& value,
                                   std::string_view field);

/// The JSON object of `table`.
nlohmann::json to_json(const alias_table& table);

/// The aliases stored as `text` (validated when written); none when the
/// text is empty, `{}` or does not read back as an object of strings.
alias_table read_aliases(const std::string& text);

/// The model to use for `model`: the target of the app's alias of that
/// name, else of the org's, else null (no alias applies). `app` may be null.
/// A target is never resolved again.
const std::string* resolve_alias(const alias_table* app,
                                 const alias_table& org,
                                 std::string_view model);

} // namespace gatehouse::policy
