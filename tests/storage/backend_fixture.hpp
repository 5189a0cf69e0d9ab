#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "storage/database.hpp"

namespace gatehouse::storage::testing {

/// The backend named by GATEHOUSE_TEST_BACKEND: `sqlite` (the default) or
/// `postgres`.
std::string selected_backend();

/// A unique, empty temporary directory, removed on destruction.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The directory's absolute path.
  const std::string& path() const {
    return path_;
  }

private:
  std::string path_;
};

/// A fresh, empty database for one test: a file in a temporary directory
/// for SQLite, a newly created database on the GATEHOUSE_TEST_PG_URL server
/// for PostgreSQL (dropped on destruction).
class scratch_database {
public:
  /// Throws std::runtime_error saying what is missing or unreachable.
  explicit scratch_database(const std::string& backend);
  ~scratch_database();
  scratch_database(const scratch_database&) = delete;
  scratch_database& operator=(const scratch_database&) = delete;

  /// The URL of the scratch database.
  const std::string& url() const {
    return url_;
  }

private:
  std::string url_;
  std::unique_ptr<temp_dir> dir_;
  std::unique_ptr<database> admin_;
  std::string name_;
};

/// Base of the suites that run on the selected backend: a scratch database
/// and one open connection to it.
class backend_test : public ::testing::TestWithParam<std::string> {
protected:
  void SetUp() override;
  void TearDown() override;

  /// The connection to the scratch database.
  database& db() {
    return *db_;
  }

  /// The scratch database's URL, for more connections.
  const std::string& url() const {
    return scratch_->url();
  }

  /// True on PostgreSQL.
  bool postgres() const {
    return GetParam() == "postgres";
  }

private:
  std::unique_ptr<scratch_database> scratch_;
  std::unique_ptr<database> db_;
};

/// Names the instantiated test after the backend.
struct backend_name {
  std::string
  operator()(const ::testing::TestParamInfo<std::string>& info) const {
    return info.param;
  }
};

} // namespace gatehouse::storage::testing

/// Instantiates `suite` (derived from backend_test) for the selected
/// backend.
#define GH_INSTANTIATE_BACKEND_SUITE(suite)                                    \
  INSTANTIATE_TEST_SUITE_P(                                                    \
    Backend, suite,                                                            \
    ::testing::Values(::gatehouse::storage::testing::selected_backend()),      \
    ::gatehouse::storage::testing::backend_name{})
