#pragma once

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace gatehouse::app {

/// `gatehouse serve`: runs a node until SIGTERM; returns the exit code.
int run_serve(const config::settings& cfg);

/// `gatehouse migrate`: brings the schema up to date.
int run_migrate(const config::settings& cfg);

/// `gatehouse admin set-plan SLUG PLAN`.
int run_set_plan(const config::settings& cfg,
                 const std::vector<std::string>& args);

} // namespace gatehouse::app
