// Entry point: settings -> logging -> the chosen command.

#include <iostream>

#include <spdlog/spdlog.h>

#include "app/commands.hpp"
#include "app/logging.hpp"
#include "config/settings.hpp"

extern char** environ;

int main(int argc, char** argv) {
  using namespace gatehouse;
  config::invocation inv;
  try {
    inv = config::parse_invocation(argc, argv,
                                   config::environment_map(environ));
  } catch (const config::config_error& e) {
    std::cerr << "gatehouse: " << e.what()
              << "\nRun 'gatehouse --help' for the list of settings.\n";
    return 2;
  }
  switch (inv.cmd) {
    case config::command::help:
      std::cout << config::help_text();
      return 0;
    case config::command::version:
      std::cout << config::version_text() << '\n';
      return 0;
    default:
      break;
  }
  app::setup_logging(inv.cfg.log_format);
  try {
    switch (inv.cmd) {
      case config::command::migrate:
        return app::run_migrate(inv.cfg);
      case config::command::set_plan:
        return app::run_set_plan(inv.cfg, inv.args);
      default:
        return app::run_serve(inv.cfg);
    }
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    std::cerr << "gatehouse: error: " << e.what() << '\n';
    return 1;
  }
}
