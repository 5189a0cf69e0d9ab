#include "policy/json_parse.hpp"

#include <nlohmann/json.hpp>

namespace gatehouse::policy {

namespace {

template <class Json>
json_fault parse_into(std::string_view text, int max_depth, Json& out) {
  out = Json(Json::value_t::discarded);
  // nlohmann's lexer takes a NUL byte for the end of the input, so
  // `{}\0anything` would pass as `{}`.
  if (text.find('\0') != std::string_view::npos)
    return json_fault::nul_byte;
  if (nests_deeper_than(text, max_depth))
    return json_fault::too_deep;
  try {
    out = Json::parse(text, nullptr, false);
  } catch (...) {
    out = Json(Json::value_t::discarded);
  }
  return out.is_discarded() ? json_fault::syntax : json_fault::none;
}

} // namespace

const char* describe(json_fault f) {
  switch (f) {
    case json_fault::none:
      return "is valid JSON";
    case json_fault::nul_byte:
      return "is not valid JSON (it contains a NUL byte)";
    case json_fault::too_deep:
      return "is nested too deeply";
    case json_fault::syntax:
      break;
  }
  return "is not valid JSON";
}

bool nests_deeper_than(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit)
        return true;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return false;
}

json_fault parse_json(std::string_view text, int max_depth,
                      nlohmann::json& out) {
  return parse_into(text, max_depth, out);
}

json_fault parse_json(std::string_view text, int max_depth,
                      nlohmann::ordered_json& out) {
  return parse_into(text, max_depth, out);
}

} // namespace gatehouse::policy
