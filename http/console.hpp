#pragma once

#include <string>
#include <string_view>

#include "http/message.hpp"

namespace gatehouse::http {

/// Whether `path` belongs to the web console: `/`, `/ui` and `/ui/…`.
bool is_console_path(std::string_view path);

/// The console's answer to a GET or HEAD of a console path. Pages
/// (`/`, `/ui/<page>…`) get index.html, for the console routes in the
/// browser; `/ui/static/<file>` gets that file. Assets come from the binary,
/// or from `dir` when set (`--console-dir`, for working on the console).
/// Every answer carries the console's security headers.
http_response serve_console(const http_request& req, const std::string& dir);

/// The Content-Security-Policy of the console's pages.
std::string_view console_csp();

} // namespace gatehouse::http
