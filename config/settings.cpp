#include "config/settings.hpp"

#include "config/options.hpp"
#include "config/toml_file.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <thread>
#include <utility>

#include <arpa/inet.h>
#include <unistd.h>

namespace gatehouse::config {

namespace {

constexpr std::string_view env_prefix = "GATEHOUSE_";
constexpr int max_default_threads = 256;

// A flag and its value as written on the command line.
struct flag_value {
  const option_def* opt;
  std::string value;
};

// The command line split into flags and positional words.
struct scanned_args {
  std::vector<flag_value> flags;
  std::vector<std::string> positional;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void apply_or_throw(settings& cfg, const option_def& opt,
                    std::string_view value, const std::string& source) {
  if (auto err = opt.apply(cfg, value)) {
    std::string msg = source + ": " + *err;
    if (!opt.secret)
      msg += " (got '" + std::string{value} + "')";
    throw config_error(msg);
  }
}

// Finds --help / --version before anything else so that they work even
// next to otherwise invalid arguments.
std::optional<command> find_info_flag(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (arg == "--")
      break;
    if (arg == "--help" || arg == "-h")
      return command::help;
    if (arg == "--version")
      return command::version;
  }
  return std::nullopt;
}

scanned_args scan(int argc, const char* const* argv) {
  scanned_args out;
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    if (only_positional || arg == "-" || !starts_with(arg, "-")) {
      out.positional.emplace_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq);
    const option_def* opt = starts_with(name, "--") ? find_by_flag(name)
                                                    : nullptr;
    if (opt == nullptr)
      throw config_error("unknown flag " + std::string{name}
                         + " (see gatehouse --help)");
    if (eq != std::string_view::npos) {
      out.flags.push_back({opt, std::string{arg.substr(eq + 1)}});
    } else {
      if (i + 1 >= argc)
        throw config_error("flag " + std::string{name} + " needs a value");
      out.flags.push_back({opt, argv[++i]});
    }
  }
  return out;
}

void expect_arg_count(const std::vector<std::string>& pos, std::size_t n,
                      const std::string& usage) {
  if (pos.size() != n)
    throw config_error("usage: " + usage);
}

void parse_command(invocation& inv, const std::vector<std::string>& pos) {
  if (pos.empty() || pos[0] == "serve") {
    if (pos.size() > 1)
      throw config_error("unexpected argument '" + pos[1]
                         + "' (usage: gatehouse serve [OPTIONS])");
    inv.cmd = command::serve;
    return;
  }
  const std::string& name = pos[0];
  if (name == "migrate") {
    expect_arg_count(pos, 1, "gatehouse migrate [OPTIONS]");
    inv.cmd = command::migrate;
    return;
  }
  if (name == "admin") {
    const std::string usage = "gatehouse admin set-plan SLUG PLAN";
    if (pos.size() < 2 || pos[1] != "set-plan")
      throw config_error("unknown admin command (usage: " + usage + ")");
    expect_arg_count(pos, 4, usage);
    if (pos[2].empty())
      throw config_error("admin set-plan: SLUG must not be empty");
    if (pos[3] != "free" && pos[3] != "enterprise")
      throw config_error("admin set-plan: PLAN must be 'free' or "
                         "'enterprise' (got '"
                         + pos[3] + "')");
    inv.cmd = command::set_plan;
    inv.args = {pos[2], pos[3]};
    return;
  }
  if (name == "help") {
    inv.cmd = command::help;
    return;
  }
  if (name == "version") {
    inv.cmd = command::version;
    return;
  }
  throw config_error("unknown command '" + name + "' (see gatehouse --help)");
}

/// The host name, kept to the characters a node id may hold.
std::string default_node_id() {
  char buf[256] = {};
  std::string out;
  if (::gethostname(buf, sizeof buf - 1) == 0)
    for (const char* p = buf; *p != '\0' && out.size() < 64; ++p)
      if (std::isalnum(static_cast<unsigned char>(*p)) || *p == '-' || *p == '_'
          || *p == '.')
        out += *p;
  return out.empty() ? "gatehouse" : out;
}

/// True for an address of a private interface: IPv4 loopback (127/8),
/// RFC 1918 (10/8, 172.16/12, 192.168/16), shared address space
/// (100.64/10) and link-local (169.254/16); IPv6 loopback, unique local
/// (fc00::/7) and link-local (fe80::/10); and `localhost`. Cluster traffic
/// is not encrypted (docs/cluster.md), so it is served on such an address
/// only.
bool private_interface(const std::string& host) {
  if (host == "localhost")
    return true;
  unsigned char a[16] = {};
  if (::inet_pton(AF_INET, host.c_str(), a) == 1)
    return a[0] == 127 || a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16)
           || (a[0] == 192 && a[1] == 168)
           || (a[0] == 100 && (a[1] & 0xc0) == 64)
           || (a[0] == 169 && a[1] == 254);
  if (::inet_pton(AF_INET6, host.c_str(), a) == 1) {
    static const unsigned char loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                               0, 0, 0, 0, 0, 0, 0, 1};
    return std::equal(a, a + 16, loopback) || (a[0] & 0xfe) == 0xfc
           || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
  }
  return false;
}

/// Cluster mode needs a database every member shares and a secret its
/// members prove they hold, and serves on a private interface.
void check_cluster_settings(const settings& cfg) {
  if (!cfg.cluster_mode()) {
    if (!cfg.cluster_peers.empty())
      throw config_error("--cluster-peers needs --cluster-listen "
                         "(cluster mode)");
    return;
  }
  if (starts_with(cfg.database_url, "sqlite://"))
    throw config_error(
      "cluster mode (--cluster-listen) needs PostgreSQL: set --database "
      "postgresql://... shared by every member (SQLite is one node's file)");
  if (cfg.cluster_secret.empty())
    throw config_error("cluster mode (--cluster-listen) needs "
                       "GATEHOUSE_CLUSTER_SECRET: the same secret (>= 16 "
                       "characters) in the environment of every member");
  if (!private_interface(cfg.cluster_listen_host))
    throw config_error(
      "--cluster-listen: '" + cfg.cluster_listen_host
      + "' is not the address of a private interface; cluster traffic is "
        "not encrypted, so it is served only on a loopback, private "
        "(10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7) or link-local "
        "address (a VPN's address will do; see docs/cluster.md)");
}

} // namespace

int default_thread_count() {
  auto cores = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cores, 1, max_default_threads);
}

std::string default_log_format() {
  return ::isatty(STDERR_FILENO) == 1 ? "text" : "json";
}

invocation parse_invocation(int argc, const char* const* argv,
                            const std::map<std::string, std::string>& env) {
  invocation inv;
  if (auto info = find_info_flag(argc, argv)) {
    inv.cmd = *info;
    return inv;
  }
  auto args = scan(argc, argv);
  parse_command(inv, args.positional);
  if (inv.cmd == command::help || inv.cmd == command::version)
    return inv;

  // Unknown GATEHOUSE_* variables are refused like unknown flags: a typo
  // must not silently leave a setting at its default.
  for (const auto& [name, value] : env)
    if (starts_with(name, env_prefix) && find_by_env(name) == nullptr)
      throw config_error("unknown environment variable " + name);

  settings& cfg = inv.cfg;
  // The file comes first, so its path is resolved before anything else:
  // the flag wins over the environment.
  std::string file;
  std::string file_source;
  const option_def* config_opt = find_by_flag("--config");
  if (auto it = env.find(std::string{config_opt->env}); it != env.end()) {
    file = it->second;
    file_source = "environment variable " + it->first;
  }
  for (const auto& f : args.flags)
    if (f.opt == config_opt) {
      file = f.value;
      file_source = "flag --config";
    }
  if (!file_source.empty()) {
    apply_or_throw(cfg, *config_opt, file, file_source);
    apply_toml_file(cfg, cfg.config_file);
  }

  for (const auto& opt : options()) {
    if (&opt == config_opt)
      continue;
    if (auto it = env.find(std::string{opt.env}); it != env.end())
      apply_or_throw(cfg, opt, it->second, "environment variable " + it->first);
  }
  for (const auto& f : args.flags)
    if (f.opt != config_opt)
      apply_or_throw(cfg, *f.opt, f.value, "flag " + std::string{f.opt->flag});

  if (cfg.database_url.empty())
    cfg.database_url = "sqlite://" + cfg.data_dir + "/gatehouse.db";
  if (cfg.node_id.empty())
    cfg.node_id = default_node_id();
  if (inv.cmd == command::serve)
    check_cluster_settings(cfg);
  return inv;
}

std::map<std::string, std::string> environment_map(char** environ) {
  std::map<std::string, std::string> out;
  if (environ == nullptr)
    return out;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string_view kv{*entry};
    auto eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0)
      continue;
    out.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return out;
}

} // namespace gatehouse::config
