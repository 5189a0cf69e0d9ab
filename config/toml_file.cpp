#include "config/toml_file.hpp"

#include "config/options.hpp"
#include "config/settings.hpp"

#include <toml++/toml.h>

namespace gatehouse::config {

namespace {

std::string where(const std::string& path, std::string_view key) {
  return "config file '" + path + "', key '" + std::string{key} + "'";
}

const char* kind_name(toml_kind kind) {
  switch (kind) {
    case toml_kind::integer:
      return "an integer";
    case toml_kind::list:
      return "a string or an array of strings";
    default:
      return "a string";
  }
}

// Renders a TOML value as the text the flag or variable would carry, or
// nullopt if its type does not fit `kind`.
std::optional<std::string> as_text(const toml::node& node, toml_kind kind) {
  switch (kind) {
    case toml_kind::integer:
      if (auto v = node.as_integer())
        return std::to_string(v->get());
      return std::nullopt;
    case toml_kind::list:
      if (auto arr = node.as_array()) {
        std::string joined;
        for (const auto& item : *arr) {
          auto s = item.as_string();
          if (!s)
            return std::nullopt;
          if (!joined.empty())
            joined += ',';
          joined += s->get();
        }
        return joined;
      }
      [[fallthrough]];
    case toml_kind::string:
      if (auto s = node.as_string())
        return s->get();
      return std::nullopt;
    case toml_kind::none:
      break;
  }
  return std::nullopt;
}

} // namespace

void apply_toml_file(settings& cfg, const std::string& path) {
  toml::table doc;
  try {
    doc = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::string msg = "config file '" + path + "': ";
    msg += e.description();
    const auto& begin = e.source().begin;
    if (begin.line > 0)
      msg += " (line " + std::to_string(begin.line) + ", column "
             + std::to_string(begin.column) + ")";
    throw config_error(msg);
  }
  for (const auto& [raw_key, node] : doc) {
    std::string_view key = raw_key.str();
    if (key == "master_key" || key == "jwt_secret")
      throw config_error(where(path, key)
                         + ": secrets are read only from the environment");
    const option_def* opt = find_by_key(key);
    if (opt == nullptr)
      throw config_error(where(path, key) + ": unknown key");
    auto text = as_text(node, opt->in_file);
    if (!text)
      throw config_error(where(path, key) + ": must be "
                         + kind_name(opt->in_file));
    if (auto err = opt->apply(cfg, *text)) {
      std::string msg = where(path, key) + ": " + *err;
      if (!opt->secret)
        msg += " (got '" + *text + "')";
      throw config_error(msg);
    }
  }
}

} // namespace gatehouse::config
