#include "policy/proxy_body.hpp"

#include "policy/json_parse.hpp"
#include "policy/json_read.hpp"

#include <nlohmann/json.hpp>

#include "policy/usage.hpp"

namespace gatehouse::policy {

namespace {

using ordered_json = nlohmann::ordered_json;

// How deep prompt text is searched inside content parts.
constexpr int max_content_depth = 8;

// Counts the text of a message content, system prompt, prompt or input: a
// string, or an array of strings and of parts with `text` and/or nested
// `content` (tool results, Responses items).
template <class V>
std::size_t content_chars(const V& v, int depth) {
  if (v.is_string())
    return count_chars(v.str());
  if (depth >= max_content_depth)
    return 0;
  std::size_t n = 0;
  if (v.is_array()) {
    v.each([&](const V& item) { n += content_chars(item, depth + 1); });
  } else if (v.is_object()) {
    auto text = v.member("text");
    if (text && text->is_string())
      n += count_chars(text->str());
    if (auto content = v.member("content"))
      n += content_chars(*content, depth + 1);
  }
  return n;
}

template <class V>
void inspect_object(const V& j, proxy_body_info& info) {
  info.is_json_object = true;
  auto model = j.member("model");
  if (model && model->is_string())
    info.model = std::string{model->str()};
  auto stream = j.member("stream");
  info.stream = stream && stream->is_true();
  if (auto options = j.member("stream_options")) {
    auto include = options->member("include_usage");
    info.client_wants_usage = include && include->is_true();
  }
  for (const char* key :
       {"max_completion_tokens", "max_tokens", "max_output_tokens"}) {
    if (auto v = json_read::member_count(j, key, false)) {
      info.max_tokens = v;
      break;
    }
  }
  if (auto messages = j.member("messages")) {
    messages->each([&](const V& msg) {
      if (auto content = msg.member("content"))
        info.prompt_chars += content_chars(*content, 0);
    });
  }
  for (const char* key : {"system", "prompt", "input"})
    if (auto it = j.member(key))
      info.prompt_chars += content_chars(*it, 0);
}

} // namespace

proxy_body_info inspect_body(std::string_view body, int max_depth) {
  proxy_body_info info;
  info.fault = json_read::read_json(body, max_depth, [&](const auto& j) {
    if (j.is_object())
      inspect_object(j, info);
  });
  return info;
}

std::string rewrite_body(std::string_view body,
                         const std::optional<std::string>& new_model,
                         bool inject_include_usage, int max_depth) {
  std::string unchanged{body};
  if (!new_model && !inject_include_usage)
    return unchanged;
  try {
    ordered_json j;
    if (parse_json(body, max_depth, j) != json_fault::none || !j.is_object())
      return unchanged;
    bool changed = false;
    if (new_model) {
      auto model = j.find("model");
      if (model == j.end() || !model->is_string()
          || model->get_ref<const std::string&>() != *new_model) {
        j["model"] = *new_model;
        changed = true;
      }
    }
    if (inject_include_usage) {
      auto options = j.find("stream_options");
      if (options == j.end() || !options->is_object()) {
        j["stream_options"] = ordered_json::object({{"include_usage", true}});
        changed = true;
      } else {
        auto include = options->find("include_usage");
        if (include == options->end() || *include != true) {
          (*options)["include_usage"] = true;
          changed = true;
        }
      }
    }
    if (!changed)
      return unchanged;
    return j.dump();
  } catch (...) {
    return unchanged;
  }
}

std::string append_member(std::string_view object_json,
                          std::string_view member) {
  auto close = object_json.find_last_of('}');
  if (close == std::string_view::npos)
    return std::string{object_json};
  // Empty object: the character before the `}` (whitespace aside) is `{`.
  auto before = object_json.find_last_not_of(" \t\r\n", close - 1);
  bool empty = close == 0 || (before != std::string_view::npos
                              && object_json[before] == '{');
  std::string out;
  out.reserve(object_json.size() + member.size() + 1);
  out.append(object_json.substr(0, close));
  if (!empty)
    out.push_back(',');
  out.append(member);
  out.append(object_json.substr(close));
  return out;
}

} // namespace gatehouse::policy
