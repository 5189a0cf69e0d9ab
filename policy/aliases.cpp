#include "policy/aliases.hpp"

#include <nlohmann/json.hpp>

#include "policy/text.hpp"

namespace gatehouse::policy {

namespace {

bool has_space(std::string_view s) {
  for (char c : s)
    if (c == ' ')
      return true;
  return false;
}

/// Why `s` cannot be an alias name or target, or null.
const char* text_problem(std::string_view s, std::size_t max_bytes) {
  if (s.empty())
    return "must not be empty";
  if (s.size() > max_bytes)
    return "is too long";
  if (!valid_utf8(s))
    return "must be valid UTF-8";
  if (has_control_bytes(s) || has_space(s))
    return "must not contain whitespace or control characters";
  return nullptr;
}

problem field_problem(std::string_view field, std::string_view name,
                      const std::string& why) {
  std::string where{field};
  if (!name.empty())
    where += "." + echo(name, 64);
  return make_problem(errc::invalid_request,
                      "field '" + where + "': " + why);
}

} // namespace

outcome<alias_table> parse_aliases(const nlohmann::json& value,
                                   std::string_view field) {
  if (!value.is_object())
    return field_problem(field, {}, "must be an object of alias names to "
                                    "model names");
  if (value.size() > max_aliases)
    return field_problem(field, {},
                         "at most " + std::to_string(max_aliases)
                           + " aliases");
  alias_table out;
  for (auto& [name, target] : value.items()) {
    if (auto why = text_problem(name, max_alias_name_bytes))
      return field_problem(field, name, std::string{"alias name "} + why);
    if (!target.is_string())
      return field_problem(field, name, "must be a model name (a string)");
    auto& t = target.get_ref<const std::string&>();
    if (auto why = text_problem(t, max_alias_target_bytes))
      return field_problem(field, name, std::string{"target "} + why);
    out.emplace(name, t);
  }
  for (auto& [name, target] : out)
    if (out.count(target))
      return field_problem(
        field, name,
        target == name
          ? std::string{"an alias cannot name itself"}
          : "target '" + echo(target, 64)
              + "' is an alias of the same table; aliases do not chain");
  return out;
}

nlohmann::json to_json(const alias_table& table) {
  auto out = nlohmann::json::object();
  for (auto& [name, target] : table)
    out[name] = target;
  return out;
}

alias_table read_aliases(const std::string& text) {
  if (text.empty() || text == "{}")
    return {};
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return {};
  alias_table out;
  for (auto& [name, target] : j.items())
    if (target.is_string())
      out.emplace(name, target.get<std::string>());
  return out;
}

const std::string* resolve_alias(const alias_table* app,
                                 const alias_table& org,
                                 std::string_view model) {
  if (app) {
    auto a = app->find(model);
    if (a != app->end())
      return &a->second;
  }
  auto o = org.find(model);
  return o != org.end() ? &o->second : nullptr;
}

} // namespace gatehouse::policy
