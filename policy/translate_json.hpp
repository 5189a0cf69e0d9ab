#pragma once

// JSON helpers of the translators. Internal to policy/: include from its
// .cpp files only.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "policy/errc.hpp"
#include "policy/json_parse.hpp"

namespace gatehouse::policy::translate_detail {

using ojson = nlohmann::ordered_json;

/// Compact text of `j`; invalid UTF-8 (which a parsed input cannot hold)
/// is replaced rather than thrown about.
inline std::string dump(const ojson& j) {
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

/// The member `key` of object `j`, or null when `j` is no object or the
/// member is absent or null.
inline const ojson* member(const ojson& j, const char* key) {
  if (!j.is_object())
    return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return nullptr;
  return &*it;
}

/// The string member `key` of object `j`, or "" when absent or not a
/// string.
inline std::string str_of(const ojson& j, const char* key) {
  if (!j.is_object())
    return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string())
    return {};
  return it->get<std::string>();
}

/// The non-negative integer member `key` of object `j`, or 0.
inline long long count_of(const ojson& j, const char* key) {
  if (!j.is_object())
    return 0;
  auto it = j.find(key);
  if (it == j.end())
    return 0;
  if (it->is_number_unsigned())
    return static_cast<long long>(
      std::min<std::uint64_t>(it->get<std::uint64_t>(), 1ULL << 62));
  if (it->is_number_integer())
    return std::max<long long>(0, it->get<long long>());
  return 0;
}

/// A 400 `invalid_request` problem about the request field `field`.
inline problem bad_field(const std::string& field, const std::string& why) {
  return make_problem(errc::invalid_request, "field '" + field + "': " + why);
}

} // namespace gatehouse::policy::translate_detail
