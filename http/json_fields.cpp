#include "http/json_fields.hpp"

#include <algorithm>
#include <optional>

#include "http/api_error.hpp"
#include "policy/json_parse.hpp"
#include "policy/text.hpp"

namespace gatehouse::http {

using nlohmann::json;

namespace {

const json null_value = nullptr;

/// The dotted path of the first key or string of `j` that holds a NUL
/// (storage refuses them): "" for a key of the top level. The depth is
/// bounded by the parser's limit.
std::optional<std::string> nul_at(const json& j, const std::string& path) {
  auto has = [](const std::string& t) {
    return t.find('\0') != std::string::npos;
  };
  if (j.is_string())
    return has(j.get_ref<const std::string&>()) ? std::optional{path}
                                                 : std::nullopt;
  if (j.is_object()) {
    for (auto& [k, v] : j.items()) {
      if (has(k))
        return path;
      if (auto at = nul_at(v, path.empty() ? k : path + "." + k))
        return at;
    }
  } else if (j.is_array()) {
    for (auto& v : j)
      if (auto at = nul_at(v, path))
        return at;
  }
  return std::nullopt;
}

} // namespace

json parse_body(const std::string& body, int max_depth) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos)
    return json::object();
  json j;
  auto fault = policy::parse_json(body, max_depth, j);
  if (fault != policy::json_fault::none)
    throw api_error(policy::errc::invalid_request,
                    std::string{"request body "} + policy::describe(fault));
  if (!j.is_object())
    throw api_error(policy::errc::invalid_request,
                    "request body must be a JSON object");
  if (auto at = nul_at(j, "")) {
    auto subject = at->empty() ? std::string{"request body"}
                               : "field '" + policy::echo(*at) + "'";
    throw api_error(policy::errc::invalid_request,
                    subject + ": must not contain NUL characters");
  }
  return j;
}

void reject_immutable(const json& body,
                      std::initializer_list<std::string_view> fields) {
  for (auto f : fields)
    if (body.is_object() && body.contains(f))
      throw api_error(policy::errc::immutable_field,
                      "field '" + std::string{f} + "': cannot be changed");
}

json_fields::json_fields(const json& obj,
                         std::initializer_list<std::string_view> allowed,
                         std::string prefix)
  : obj_(obj), prefix_(std::move(prefix)) {
  if (!obj_.is_object())
    throw api_error(policy::errc::invalid_request,
                    prefix_.empty() ? "request body must be a JSON object"
                                    : "field '" + prefix_.substr(0, prefix_.size() - 1)
                                        + "': must be an object");
  for (auto& [key, val] : obj_.items())
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      fail(key, "unknown field");
}

void json_fields::fail(std::string_view f, std::string_view why) const {
  throw api_error(policy::errc::invalid_request,
                  "field '" + prefix_ + std::string{f} + "': "
                    + std::string{why});
}

bool json_fields::has(std::string_view f) const {
  return obj_.contains(f);
}

bool json_fields::is_null(std::string_view f) const {
  return has(f) && obj_.at(std::string{f}).is_null();
}

const json& json_fields::get(std::string_view f) const {
  auto i = obj_.find(f);
  return i == obj_.end() ? null_value : *i;
}

std::string json_fields::required_string(std::string_view f) const {
  auto& v = get(f);
  if (v.is_null())
    fail(f, "is required");
  if (!v.is_string())
    fail(f, "must be a string");
  auto s = v.get<std::string>();
  if (s.empty())
    fail(f, "must not be empty");
  return s;
}

std::optional<std::string>
json_fields::optional_string(std::string_view f) const {
  auto& v = get(f);
  if (v.is_null())
    return std::nullopt;
  if (!v.is_string())
    fail(f, "must be a string");
  return v.get<std::string>();
}

std::optional<long long> json_fields::optional_int(std::string_view f,
                                                   long long min,
                                                   long long max) const {
  auto& v = get(f);
  if (v.is_null())
    return std::nullopt;
  if (!v.is_number_integer())
    fail(f, "must be an integer");
  auto x = v.get<long long>();
  if (x < min || x > max)
    fail(f, "must be between " + std::to_string(min) + " and "
              + std::to_string(max));
  return x;
}

std::optional<bool> json_fields::optional_bool(std::string_view f) const {
  auto& v = get(f);
  if (v.is_null())
    return std::nullopt;
  if (!v.is_boolean())
    fail(f, "must be a boolean");
  return v.get<bool>();
}

std::optional<std::vector<std::string>>
json_fields::optional_string_list(std::string_view f) const {
  auto& v = get(f);
  if (v.is_null())
    return std::nullopt;
  if (!v.is_array())
    fail(f, "must be an array of strings");
  std::vector<std::string> out;
  for (auto& x : v) {
    if (!x.is_string())
      fail(f, "must be an array of strings");
    out.push_back(x.get<std::string>());
  }
  return out;
}

} // namespace gatehouse::http
