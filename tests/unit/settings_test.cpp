#include "config/settings.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

using namespace gatehouse::config;

namespace {

using env_map = std::map<std::string, std::string>;

const std::string master_key(64, 'a');
const std::string jwt_secret(32, 's');

// A scratch directory removed at the end of each test.
class settings_test : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl
      = (std::filesystem::temp_directory_path() / "gh-config-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }

  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::string write_toml(const std::string& name, const std::string& content) {
    auto path = (dir_ / name).string();
    std::ofstream out{path};
    out << content;
    return path;
  }

  std::filesystem::path dir_;
};

invocation parse(std::initializer_list<const char*> args,
                 const env_map& env = {}) {
  std::vector<const char*> argv{"gatehouse"};
  argv.insert(argv.end(), args);
  return parse_invocation(static_cast<int>(argv.size()), argv.data(), env);
}

// Returns the config_error message of a failing parse, or "" if it passes.
std::string error_of(std::initializer_list<const char*> args,
                     const env_map& env = {}) {
  try {
    parse(args, env);
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST_F(settings_test, defaults) {
  auto inv = parse({});
  EXPECT_EQ(inv.cmd, command::serve);
  EXPECT_TRUE(inv.args.empty());
  const auto& c = inv.cfg;
  EXPECT_EQ(c.config_file, "");
  EXPECT_EQ(c.listen_host, "127.0.0.1");
  EXPECT_EQ(c.listen_port, 8080);
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.database_url, "sqlite://./var/gatehouse.db");
  EXPECT_EQ(c.operator_token, "");
  EXPECT_EQ(c.master_key_hex, "");
  EXPECT_EQ(c.jwt_secret, "");
  EXPECT_EQ(c.default_plan, "free");
  EXPECT_EQ(c.allow_private_upstreams, "");
  EXPECT_EQ(c.trusted_proxies, "");
  EXPECT_GE(c.threads, 1);
  EXPECT_LE(c.threads, 256);
  EXPECT_EQ(c.threads, default_thread_count());
  EXPECT_EQ(c.bcrypt_cost, 10);
  EXPECT_TRUE(c.log_format == "json" || c.log_format == "text");
  EXPECT_EQ(c.log_format, default_log_format());
}

TEST_F(settings_test, every_flag_in_both_spellings) {
  auto inv
    = parse({"--listen", "0.0.0.0:9000", "--data-dir=/srv/gh", "--database",
             "postgresql://u@db/gh", "--operator-token=op-secret",
             "--default-plan", "enterprise", "--allow-private-upstreams=all",
             "--trusted-proxies", "10.0.0.0/8,::1", "--threads=4",
             "--bcrypt-cost", "4", "--log-format=text"});
  const auto& c = inv.cfg;
  EXPECT_EQ(c.listen_host, "0.0.0.0");
  EXPECT_EQ(c.listen_port, 9000);
  EXPECT_EQ(c.data_dir, "/srv/gh");
  EXPECT_EQ(c.database_url, "postgresql://u@db/gh");
  EXPECT_EQ(c.operator_token, "op-secret");
  EXPECT_EQ(c.default_plan, "enterprise");
  EXPECT_EQ(c.allow_private_upstreams, "all");
  EXPECT_EQ(c.trusted_proxies, "10.0.0.0/8,::1");
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.bcrypt_cost, 4);
  EXPECT_EQ(c.log_format, "text");
}

TEST_F(settings_test, every_environment_variable) {
  auto inv = parse({}, {{"GATEHOUSE_LISTEN", "[::1]:0"},
                        {"GATEHOUSE_DATA_DIR", "/data"},
                        {"GATEHOUSE_DATABASE_URL", "postgres://db/gh"},
                        {"GATEHOUSE_OPERATOR_TOKEN", "tok"},
                        {"GATEHOUSE_MASTER_KEY", master_key},
                        {"GATEHOUSE_JWT_SECRET", jwt_secret},
                        {"GATEHOUSE_DEFAULT_PLAN", "enterprise"},
                        {"GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS", "127.0.0.1/32"},
                        {"GATEHOUSE_TRUSTED_PROXIES", "192.168.0.0/16"},
                        {"GATEHOUSE_THREADS", "256"},
                        {"GATEHOUSE_BCRYPT_COST", "14"},
                        {"GATEHOUSE_LOG_FORMAT", "json"},
                        {"PATH", "/usr/bin"},
                        {"GATEHOUSEX", "not ours"}});
  const auto& c = inv.cfg;
  EXPECT_EQ(c.listen_host, "::1");
  EXPECT_EQ(c.listen_port, 0);
  EXPECT_EQ(c.data_dir, "/data");
  EXPECT_EQ(c.database_url, "postgres://db/gh");
  EXPECT_EQ(c.operator_token, "tok");
  EXPECT_EQ(c.master_key_hex, master_key);
  EXPECT_EQ(c.jwt_secret, jwt_secret);
  EXPECT_EQ(c.default_plan, "enterprise");
  EXPECT_EQ(c.allow_private_upstreams, "127.0.0.1/32");
  EXPECT_EQ(c.trusted_proxies, "192.168.0.0/16");
  EXPECT_EQ(c.threads, 256);
  EXPECT_EQ(c.bcrypt_cost, 14);
  EXPECT_EQ(c.log_format, "json");
}

TEST_F(settings_test, every_toml_key) {
  auto path = write_toml("all.toml", R"(
listen = "[2001:db8::1]:8443"
data_dir = "/var/lib/gatehouse"
database_url = "sqlite:///tmp/x.db"
operator_token = "from-file"
default_plan = "enterprise"
allow_private_upstreams = ["10.0.0.0/8", "fd00::/8"]
trusted_proxies = "172.16.0.0/12"
threads = 3
bcrypt_cost = 5
log_format = "text"
)");
  auto inv = parse({"--config", path.c_str()});
  const auto& c = inv.cfg;
  EXPECT_EQ(c.config_file, path);
  EXPECT_EQ(c.listen_host, "2001:db8::1");
  EXPECT_EQ(c.listen_port, 8443);
  EXPECT_EQ(c.data_dir, "/var/lib/gatehouse");
  EXPECT_EQ(c.database_url, "sqlite:///tmp/x.db");
  EXPECT_EQ(c.operator_token, "from-file");
  EXPECT_EQ(c.default_plan, "enterprise");
  EXPECT_EQ(c.allow_private_upstreams, "10.0.0.0/8,fd00::/8");
  EXPECT_EQ(c.trusted_proxies, "172.16.0.0/12");
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.bcrypt_cost, 5);
  EXPECT_EQ(c.log_format, "text");
}

TEST_F(settings_test, precedence_file_then_env_then_flag) {
  auto path = write_toml("p.toml", "threads = 2\nbcrypt_cost = 5\n"
                                   "default_plan = \"enterprise\"\n"
                                   "log_format = \"text\"\n");
  env_map env{{"GATEHOUSE_CONFIG", path},
              {"GATEHOUSE_THREADS", "3"},
              {"GATEHOUSE_BCRYPT_COST", "6"}};
  auto inv = parse({"--threads", "4"}, env);
  // Flag beats env beats file beats default.
  EXPECT_EQ(inv.cfg.threads, 4);
  EXPECT_EQ(inv.cfg.bcrypt_cost, 6);
  EXPECT_EQ(inv.cfg.default_plan, "enterprise");
  EXPECT_EQ(inv.cfg.log_format, "text");
  EXPECT_EQ(inv.cfg.listen_port, 8080);
  EXPECT_EQ(inv.cfg.config_file, path);
}

TEST_F(settings_test, config_flag_beats_config_env) {
  auto a = write_toml("a.toml", "threads = 2\n");
  auto b = write_toml("b.toml", "threads = 7\n");
  std::string flag = "--config=" + b;
  auto inv = parse({flag.c_str()}, {{"GATEHOUSE_CONFIG", a}});
  EXPECT_EQ(inv.cfg.threads, 7);
  EXPECT_EQ(inv.cfg.config_file, b);
  inv = parse({}, {{"GATEHOUSE_CONFIG", a}});
  EXPECT_EQ(inv.cfg.threads, 2);
}

TEST_F(settings_test, later_flag_wins) {
  auto inv = parse({"--threads", "2", "--threads=5"});
  EXPECT_EQ(inv.cfg.threads, 5);
}

TEST_F(settings_test, database_defaults_follow_data_dir) {
  auto inv = parse({"--data-dir", "/srv/gh"});
  EXPECT_EQ(inv.cfg.database_url, "sqlite:///srv/gh/gatehouse.db");
  inv = parse({}, {{"GATEHOUSE_DATA_DIR", "/d"}});
  EXPECT_EQ(inv.cfg.database_url, "sqlite:///d/gatehouse.db");
  inv = parse({"--data-dir", "/srv/gh", "--database", "sqlite://other.db"});
  EXPECT_EQ(inv.cfg.database_url, "sqlite://other.db");
}

TEST_F(settings_test, listen_forms) {
  auto inv = parse({"--listen", "localhost:0"});
  EXPECT_EQ(inv.cfg.listen_host, "localhost");
  EXPECT_EQ(inv.cfg.listen_port, 0);
  inv = parse({"--listen", "[::]:65535"});
  EXPECT_EQ(inv.cfg.listen_host, "::");
  EXPECT_EQ(inv.cfg.listen_port, 65535);
  for (const char* bad :
       {"", "8080", "127.0.0.1", "127.0.0.1:", ":8080", "127.0.0.1:65536",
        "127.0.0.1:-1", "::1:8080", "[::1]", "[::1]8080", "[zz]:80", "[]:80",
        "127.0.0.1:80x", "bad host:80"}) {
    auto err = error_of({"--listen", bad});
    EXPECT_TRUE(contains(err, "flag --listen")) << bad << ": " << err;
  }
}

TEST_F(settings_test, unknown_flags_are_errors) {
  auto err = error_of({"--listne", "127.0.0.1:1"});
  EXPECT_TRUE(contains(err, "unknown flag --listne")) << err;
  EXPECT_TRUE(contains(error_of({"-x"}), "unknown flag -x"));
  EXPECT_TRUE(contains(error_of({"--master-key", master_key.c_str()}),
                       "unknown flag --master-key"));
  EXPECT_TRUE(contains(error_of({"--bogus=1"}), "unknown flag --bogus"));
}

TEST_F(settings_test, flag_without_value_is_an_error) {
  auto err = error_of({"--threads"});
  EXPECT_TRUE(contains(err, "--threads needs a value")) << err;
}

TEST_F(settings_test, unknown_environment_variables_are_errors) {
  auto err = error_of({}, {{"GATEHOUSE_THREAD", "4"}});
  EXPECT_TRUE(contains(err, "GATEHOUSE_THREAD")) << err;
  EXPECT_TRUE(contains(err, "unknown environment variable")) << err;
  // Other variables are none of our business.
  EXPECT_EQ(error_of({}, {{"HOME", "/root"}, {"gatehouse_threads", "x"}}), "");
}

TEST_F(settings_test, unknown_toml_keys_are_errors) {
  auto path = write_toml("u.toml", "threads = 2\nlisten_addr = \"x\"\n");
  auto err = error_of({"--config", path.c_str()});
  EXPECT_TRUE(contains(err, "listen_addr")) << err;
  EXPECT_TRUE(contains(err, "unknown key")) << err;
  EXPECT_TRUE(contains(err, path)) << err;
  // Tables are not settings either.
  path = write_toml("t.toml", "[server]\nlisten = \"127.0.0.1:1\"\n");
  EXPECT_TRUE(contains(error_of({"--config", path.c_str()}), "'server'"));
  // Nor is the file path itself.
  path = write_toml("c.toml", "config = \"/x.toml\"\n");
  EXPECT_TRUE(contains(error_of({"--config", path.c_str()}), "unknown key"));
}

TEST_F(settings_test, secrets_are_refused_in_the_file) {
  auto path = write_toml("s.toml", "jwt_secret = \"" + jwt_secret + "\"\n");
  auto err = error_of({"--config", path.c_str()});
  EXPECT_TRUE(contains(err, "jwt_secret")) << err;
  EXPECT_TRUE(contains(err, "environment")) << err;
  EXPECT_FALSE(contains(err, jwt_secret)) << err;
  path = write_toml("m.toml", "master_key = \"" + master_key + "\"\n");
  EXPECT_TRUE(contains(error_of({"--config", path.c_str()}), "master_key"));
}

TEST_F(settings_test, wrong_toml_types_are_errors) {
  struct row {
    const char* toml;
    const char* key;
  };
  for (auto r :
       {row{"threads = \"4\"", "threads"}, row{"threads = 4.0", "threads"},
        row{"bcrypt_cost = true", "bcrypt_cost"},
        row{"listen = 8080", "listen"},
        row{"log_format = [\"json\"]", "log_format"},
        row{"trusted_proxies = 10", "trusted_proxies"},
        row{"trusted_proxies = [\"10.0.0.0/8\", 3]", "trusted_proxies"},
        row{"data_dir = { path = \"/x\" }", "data_dir"}}) {
    auto path = write_toml("w.toml", std::string{r.toml} + "\n");
    auto err = error_of({"--config", path.c_str()});
    EXPECT_TRUE(contains(err, std::string{"key '"} + r.key + "'"))
      << r.toml << ": " << err;
    EXPECT_TRUE(contains(err, "must be")) << r.toml << ": " << err;
  }
}

TEST_F(settings_test, bad_values_in_the_file_are_errors) {
  auto path = write_toml("v.toml", "threads = 0\n");
  auto err = error_of({"--config", path.c_str()});
  EXPECT_TRUE(contains(err, "config file")) << err;
  EXPECT_TRUE(contains(err, "'threads'")) << err;
  EXPECT_TRUE(contains(err, "between 1 and 256")) << err;
  path = write_toml("v2.toml", "default_plan = \"pro\"\n");
  EXPECT_TRUE(contains(error_of({"--config", path.c_str()}), "'free' or"));
}

TEST_F(settings_test, unreadable_or_broken_files_are_errors) {
  auto missing = (dir_ / "missing.toml").string();
  auto err = error_of({"--config", missing.c_str()});
  EXPECT_TRUE(contains(err, missing)) << err;
  auto path = write_toml("broken.toml", "threads = = 3\n");
  err = error_of({"--config", path.c_str()});
  EXPECT_TRUE(contains(err, path)) << err;
  EXPECT_TRUE(contains(err, "line 1")) << err;
  EXPECT_TRUE(contains(error_of({"--config="}), "flag --config"));
}

TEST_F(settings_test, bad_values_name_key_and_source) {
  struct row {
    const char* flag;
    const char* env;
    const char* value;
  };
  for (auto r :
       {row{"--threads", "GATEHOUSE_THREADS", "0"},
        row{"--threads", "GATEHOUSE_THREADS", "257"},
        row{"--threads", "GATEHOUSE_THREADS", "four"},
        row{"--threads", "GATEHOUSE_THREADS", "-1"},
        row{"--threads", "GATEHOUSE_THREADS", ""},
        row{"--bcrypt-cost", "GATEHOUSE_BCRYPT_COST", "3"},
        row{"--bcrypt-cost", "GATEHOUSE_BCRYPT_COST", "15"},
        row{"--log-format", "GATEHOUSE_LOG_FORMAT", "xml"},
        row{"--log-format", "GATEHOUSE_LOG_FORMAT", "JSON"},
        row{"--default-plan", "GATEHOUSE_DEFAULT_PLAN", "pro"},
        row{"--database", "GATEHOUSE_DATABASE_URL", "mysql://x"},
        row{"--database", "GATEHOUSE_DATABASE_URL", "sqlite://"},
        row{"--database", "GATEHOUSE_DATABASE_URL", "/tmp/x.db"},
        row{"--data-dir", "GATEHOUSE_DATA_DIR", ""},
        row{"--trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "10.0.0.0/33"},
        row{"--trusted-proxies", "GATEHOUSE_TRUSTED_PROXIES", "all"},
        row{"--allow-private-upstreams", "GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS",
            "10.0.0.0/8,"},
        row{"--allow-private-upstreams", "GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS",
            "yes"},
        row{"--operator-token", "GATEHOUSE_OPERATOR_TOKEN", "a b"}}) {
    auto flag_err = error_of({r.flag, r.value});
    EXPECT_TRUE(contains(flag_err, std::string{"flag "} + r.flag))
      << r.flag << "=" << r.value << ": " << flag_err;
    auto env_err = error_of({}, {{r.env, r.value}});
    EXPECT_TRUE(contains(env_err, std::string{"environment variable "} + r.env))
      << r.env << "=" << r.value << ": " << env_err;
  }
}

TEST_F(settings_test, secrets_are_validated_and_never_echoed) {
  auto err = error_of({}, {{"GATEHOUSE_MASTER_KEY", "abc123"}});
  EXPECT_TRUE(contains(err, "GATEHOUSE_MASTER_KEY")) << err;
  EXPECT_TRUE(contains(err, "64 hex")) << err;
  EXPECT_FALSE(contains(err, "abc123")) << err;
  err = error_of({}, {{"GATEHOUSE_MASTER_KEY", std::string(63, 'a') + "g"}});
  EXPECT_TRUE(contains(err, "GATEHOUSE_MASTER_KEY")) << err;
  err = error_of({}, {{"GATEHOUSE_JWT_SECRET", "short-secret"}});
  EXPECT_TRUE(contains(err, "GATEHOUSE_JWT_SECRET")) << err;
  EXPECT_TRUE(contains(err, "32")) << err;
  EXPECT_FALSE(contains(err, "short-secret")) << err;
  err = error_of({"--database", "mysql://root:hunter2@db"});
  EXPECT_FALSE(contains(err, "hunter2")) << err;
  // Upper-case hex is accepted; empty means "generate one".
  auto inv = parse({}, {{"GATEHOUSE_MASTER_KEY", std::string(64, 'F')},
                        {"GATEHOUSE_JWT_SECRET", ""}});
  EXPECT_EQ(inv.cfg.master_key_hex, std::string(64, 'F'));
  EXPECT_EQ(inv.cfg.jwt_secret, "");
}

TEST_F(settings_test, subcommands) {
  EXPECT_EQ(parse({"serve"}).cmd, command::serve);
  EXPECT_EQ(parse({"serve", "--threads", "2"}).cfg.threads, 2);
  EXPECT_EQ(parse({"--threads", "2", "serve"}).cfg.threads, 2);
  EXPECT_EQ(parse({"migrate"}).cmd, command::migrate);
  auto inv = parse({"admin", "set-plan", "acme", "enterprise"});
  EXPECT_EQ(inv.cmd, command::set_plan);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"acme", "enterprise"}));
  inv = parse({"--data-dir", "/d", "admin", "set-plan", "acme", "free"});
  EXPECT_EQ(inv.cmd, command::set_plan);
  EXPECT_EQ(inv.args, (std::vector<std::string>{"acme", "free"}));
  EXPECT_EQ(inv.cfg.data_dir, "/d");
  // "--" ends the flags, so a slug may start with a dash.
  inv = parse({"admin", "set-plan", "--", "-odd", "free"});
  EXPECT_EQ(inv.args, (std::vector<std::string>{"-odd", "free"}));
}

TEST_F(settings_test, bad_subcommands) {
  EXPECT_TRUE(contains(error_of({"start"}), "unknown command 'start'"));
  EXPECT_TRUE(contains(error_of({"serve", "now"}), "unexpected argument"));
  EXPECT_TRUE(contains(error_of({"migrate", "up"}), "usage"));
  EXPECT_TRUE(contains(error_of({"admin"}), "set-plan"));
  EXPECT_TRUE(contains(error_of({"admin", "delete-org", "x"}), "set-plan"));
  EXPECT_TRUE(contains(error_of({"admin", "set-plan", "acme"}), "usage"));
  EXPECT_TRUE(
    contains(error_of({"admin", "set-plan", "acme", "free", "x"}), "usage"));
  auto err = error_of({"admin", "set-plan", "acme", "gold"});
  EXPECT_TRUE(contains(err, "PLAN")) << err;
  EXPECT_TRUE(contains(err, "gold")) << err;
  EXPECT_TRUE(contains(error_of({"admin", "set-plan", "", "free"}), "SLUG"));
}

TEST_F(settings_test, help_and_version) {
  EXPECT_EQ(parse({"--help"}).cmd, command::help);
  EXPECT_EQ(parse({"-h"}).cmd, command::help);
  EXPECT_EQ(parse({"help"}).cmd, command::help);
  EXPECT_EQ(parse({"--version"}).cmd, command::version);
  EXPECT_EQ(parse({"version"}).cmd, command::version);
  // They win over anything else on the line, even invalid settings.
  EXPECT_EQ(parse({"--threads", "0", "--help"}).cmd, command::help);
  EXPECT_EQ(parse({"--version"}, {{"GATEHOUSE_BOGUS", "1"}}).cmd,
            command::version);
  EXPECT_EQ(parse({"admin", "set-plan", "--help"}).cmd, command::help);
  EXPECT_EQ(version_text().rfind("gatehouse ", 0), 0u);
  EXPECT_GT(version_text().size(), std::string{"gatehouse "}.size());
}

TEST_F(settings_test, help_documents_every_setting) {
  auto help = help_text();
  for (const char* text : {"--config FILE",
                           "--listen HOST:PORT",
                           "--data-dir DIR",
                           "--database URL",
                           "--operator-token",
                           "--default-plan",
                           "--allow-private-upstreams",
                           "--trusted-proxies",
                           "--threads N",
                           "--bcrypt-cost N",
                           "--log-format",
                           "--help",
                           "--version",
                           "GATEHOUSE_CONFIG",
                           "GATEHOUSE_LISTEN",
                           "GATEHOUSE_DATA_DIR",
                           "GATEHOUSE_DATABASE_URL",
                           "GATEHOUSE_OPERATOR_TOKEN",
                           "GATEHOUSE_MASTER_KEY",
                           "GATEHOUSE_JWT_SECRET",
                           "GATEHOUSE_DEFAULT_PLAN",
                           "GATEHOUSE_ALLOW_PRIVATE_UPSTREAMS",
                           "GATEHOUSE_TRUSTED_PROXIES",
                           "GATEHOUSE_THREADS",
                           "GATEHOUSE_BCRYPT_COST",
                           "GATEHOUSE_LOG_FORMAT",
                           "127.0.0.1:8080",
                           "./var",
                           "sqlite://<data-dir>/gatehouse.db",
                           "serve",
                           "migrate",
                           "admin set-plan SLUG PLAN"})
    EXPECT_TRUE(contains(help, text)) << text;
  // Help text fits a terminal.
  std::size_t start = 0;
  while (start < help.size()) {
    auto end = help.find('\n', start);
    if (end == std::string::npos)
      end = help.size();
    EXPECT_LE(end - start, 80u) << help.substr(start, end - start);
    start = end + 1;
  }
}

TEST(environment_map, splits_name_and_value) {
  std::string a = "GATEHOUSE_THREADS=4";
  std::string b = "EMPTY=";
  std::string c = "WITH_EQ=a=b";
  std::string d = "NOEQUALS";
  char* env[] = {a.data(), b.data(), c.data(), d.data(), nullptr};
  auto m = environment_map(env);
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(m["GATEHOUSE_THREADS"], "4");
  EXPECT_EQ(m["EMPTY"], "");
  EXPECT_EQ(m["WITH_EQ"], "a=b");
  EXPECT_TRUE(environment_map(nullptr).empty());
}
