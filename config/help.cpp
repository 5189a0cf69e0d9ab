#include "config/help.hpp"

#include "config/options.hpp"

#ifndef GATEHOUSE_VERSION
#  define GATEHOUSE_VERSION "unknown"
#endif

namespace gatehouse::config {

namespace {

void append_option(std::string& out, const option_def& opt) {
  out += "  ";
  if (opt.flag.empty()) {
    out += opt.env;
    out += '=';
    out += opt.metavar;
  } else {
    out += opt.flag;
    out += ' ';
    out += opt.metavar;
  }
  out += "\n      ";
  out += opt.description;
  std::string sources;
  if (!opt.flag.empty())
    sources += "env: " + std::string{opt.env};
  if (opt.in_file != toml_kind::none)
    sources += (sources.empty() ? "" : "; ") + std::string{"file: "}
               + std::string{opt.key};
  if (!sources.empty())
    out += "\n      " + sources;
  out += "\n      default: ";
  out += opt.default_text;
  out += '\n';
}

} // namespace

std::string help_text() {
  std::string out
    = "Usage: gatehouse [COMMAND] [OPTIONS]\n"
      "\n"
      "Self-hosted multi-tenant LLM gateway.\n"
      "\n"
      "Commands:\n"
      "  serve                     run the gateway (the default)\n"
      "  migrate                   apply database migrations, then exit\n"
      "  admin set-plan SLUG PLAN  set an organization's plan "
      "(free|enterprise)\n"
      "\n"
      "Options:\n"
      "  -h, --help\n"
      "      show this help, then exit\n"
      "  --version\n"
      "      print the version, then exit\n";
  for (const auto& opt : options())
    if (!opt.flag.empty())
      append_option(out, opt);
  out += "\nEnvironment only (never in the file or on the command line):\n";
  for (const auto& opt : options())
    if (opt.flag.empty())
      append_option(out, opt);
  out += "\n"
         "Flags take a value as '--flag VALUE' or '--flag=VALUE'.\n"
         "Precedence: defaults < config file < environment < flags.\n"
         "Unknown flags, file keys and GATEHOUSE_* variables are errors.\n";
  return out;
}

std::string version_text() {
  return std::string{"gatehouse "} + GATEHOUSE_VERSION;
}

} // namespace gatehouse::config
