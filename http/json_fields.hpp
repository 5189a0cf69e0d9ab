#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace gatehouse::http {

/// Parses a management request body: empty means `{}`, anything but a JSON
/// object is a 400 `invalid_request`.
nlohmann::json parse_body(const std::string& body, int max_depth);

/// Throws 400 `immutable_field` when `body` names any of `fields`.
void reject_immutable(const nlohmann::json& body,
                      std::initializer_list<std::string_view> fields);

/// Typed, strict access to the fields of a JSON object. Every violation
/// throws `api_error` 400 `invalid_request` with a message naming the field.
class json_fields {
public:
  /// Rejects any key of `obj` not in `allowed`. `prefix` ("settings.") is
  /// prepended to field names in messages.
  json_fields(const nlohmann::json& obj,
              std::initializer_list<std::string_view> allowed,
              std::string prefix = "");

  /// True when the field is present (null included).
  bool has(std::string_view f) const;

  /// True when the field is present and null.
  bool is_null(std::string_view f) const;

  /// A present, non-empty string.
  std::string required_string(std::string_view f) const;

  /// A string; nullopt when absent or null.
  std::optional<std::string> optional_string(std::string_view f) const;

  /// An integer within [min, max]; nullopt when absent or null.
  std::optional<long long> optional_int(std::string_view f, long long min,
                                        long long max) const;

  /// A boolean; nullopt when absent or null.
  std::optional<bool> optional_bool(std::string_view f) const;

  /// An array of strings; nullopt when absent or null.
  std::optional<std::vector<std::string>>
  optional_string_list(std::string_view f) const;

  /// The raw value (null when absent).
  const nlohmann::json& get(std::string_view f) const;

  /// Throws the 400 for field `f`.
  [[noreturn]] void fail(std::string_view f, std::string_view why) const;

private:
  const nlohmann::json& obj_;
  std::string prefix_;
};

} // namespace gatehouse::http
