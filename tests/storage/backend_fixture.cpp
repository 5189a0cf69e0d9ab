#include "tests/storage/backend_fixture.hpp"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <unistd.h>

namespace gatehouse::storage::testing {

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

/// `url` with its database name replaced by `name`.
std::string with_database(const std::string& url, const std::string& name) {
  auto scheme = url.find("://");
  auto slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) {
    auto query = url.find('?');
    if (query == std::string::npos)
      return url + "/" + name;
    return url.substr(0, query) + "/" + name + url.substr(query);
  }
  auto end = url.find('?', slash);
  return url.substr(0, slash + 1) + name
         + (end == std::string::npos ? "" : url.substr(end));
}

std::atomic<int> counter{0};

} // namespace

std::string selected_backend() {
  auto b = env("GATEHOUSE_TEST_BACKEND");
  return b.empty() ? "sqlite" : b;
}

temp_dir::temp_dir() {
  auto base = std::filesystem::temp_directory_path() / "gh-storage-XXXXXX";
  std::string pattern = base.string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

scratch_database::scratch_database(const std::string& backend) {
  if (backend == "sqlite") {
    dir_ = std::make_unique<temp_dir>();
    url_ = "sqlite://" + dir_->path() + "/gatehouse.db";
    return;
  }
  if (backend != "postgres")
    throw std::runtime_error("GATEHOUSE_TEST_BACKEND must be sqlite or "
                             "postgres, not '"
                             + backend + "'");
  auto base = env("GATEHOUSE_TEST_PG_URL");
  if (base.empty())
    throw std::runtime_error(
      "GATEHOUSE_TEST_BACKEND=postgres needs GATEHOUSE_TEST_PG_URL; start a "
      "server with: export GATEHOUSE_TEST_PG_URL=$(scripts/pg-test-cluster "
      "start /tmp/gatehouse-pg)");
  try {
    admin_ = open_database(base);
  } catch (const storage_error& e) {
    throw std::runtime_error(std::string("GATEHOUSE_TEST_PG_URL is not "
                                         "reachable: ")
                             + e.what());
  }
  name_
    = "gh_test_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  admin_->run_script("DROP DATABASE IF EXISTS " + name_);
  admin_->run_script("CREATE DATABASE " + name_);
  url_ = with_database(base, name_);
}

scratch_database::~scratch_database() {
  if (admin_ && !name_.empty()) {
    try {
      admin_->run_script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot drop " << name_ << ": " << e.what();
    }
  }
}

void backend_test::SetUp() {
  try {
    scratch_ = std::make_unique<scratch_database>(GetParam());
    db_ = open_database(scratch_->url());
  } catch (const std::exception& e) {
    FAIL() << "no " << GetParam() << " database for the test: " << e.what();
  }
}

void backend_test::TearDown() {
  db_.reset();
  scratch_.reset();
}

} // namespace gatehouse::storage::testing
