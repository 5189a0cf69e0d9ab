#include "http/console.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "http/api_error.hpp"
#include "http/console_assets.hpp"
#include "policy/errc.hpp"

namespace gatehouse::http {

namespace {

constexpr std::string_view static_prefix = "/ui/static/";

const console_asset* find_builtin(std::string_view rel) {
  auto end = console_assets_end();
  auto it = std::find_if(console_assets_begin(), end,
                         [&](const console_asset& a) { return a.path == rel; });
  return it == end ? nullptr : it;
}

/// A file name the console may serve from a directory: letters, digits and
/// `._-/`, no `..`, nothing hidden.
bool safe_relative(std::string_view rel) {
  if (rel.size() < 2 || rel.front() != '/' || rel.find("/.") != rel.npos
      || rel.find("//") != rel.npos)
    return false;
  return std::all_of(rel.begin(), rel.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'
           || c == '/';
  });
}

std::string_view type_of(std::string_view rel) {
  auto ends = [&](std::string_view ext) {
    return rel.size() >= ext.size()
           && rel.substr(rel.size() - ext.size()) == ext;
  };
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".js"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".png"))
    return "image/png";
  return {};
}

void add_security_headers(http_response& res) {
  res.headers.emplace_back("Content-Security-Policy", console_csp());
  res.headers.emplace_back("X-Frame-Options", "DENY");
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
  res.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
  res.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
  res.headers.emplace_back("Permissions-Policy",
                           "camera=(), microphone=(), geolocation=()");
}

http_response not_found() {
  return error_response(
    policy::make_problem(policy::errc::not_found, "no such file"));
}

http_response from_dir(const std::string& dir, std::string_view rel) {
  auto type = type_of(rel);
  if (!safe_relative(rel) || type.empty())
    return not_found();
  std::ifstream in(dir + std::string{rel}, std::ios::binary);
  if (!in)
    return not_found();
  std::ostringstream body;
  body << in.rdbuf();
  http_response res;
  res.content_type = std::string{type};
  res.body = body.str();
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

http_response from_binary(const http_request& req, std::string_view rel) {
  auto asset = find_builtin(rel);
  if (!asset)
    return not_found();
  http_response res;
  res.content_type = std::string{asset->content_type};
  // Revalidated on every load: a new binary's console is seen at once.
  res.headers.emplace_back("Cache-Control", "no-cache");
  res.headers.emplace_back("ETag", std::string{asset->etag});
  if (req.header("if-none-match") == asset->etag)
    res.status = 304;
  else
    res.body = std::string{asset->body};
  return res;
}

} // namespace

bool is_console_path(std::string_view path) {
  return path == "/" || path == "/ui" || path.substr(0, 4) == "/ui/";
}

std::string_view console_csp() {
  return "default-src 'none'; script-src 'self'; style-src 'self'; "
         "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
         "manifest-src 'self'; base-uri 'none'; form-action 'self'; "
         "frame-ancestors 'none'";
}

http_response serve_console(const http_request& req, const std::string& dir) {
  std::string_view path = req.path;
  // Everything that is not a static file is a page of the console: the
  // browser-side router draws it from the same index.html.
  std::string_view rel = "/index.html";
  if (path.substr(0, static_prefix.size()) == static_prefix)
    rel = path.substr(3); // "/static/…"
  auto res = dir.empty() ? from_binary(req, rel) : from_dir(dir, rel);
  add_security_headers(res);
  if (req.method == "HEAD")
    res.body.clear();
  return res;
}

} // namespace gatehouse::http
