#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "storage/database.hpp"
#include "storage/secrets.hpp"
#include "tests/storage/backend_fixture.hpp"

namespace gatehouse::storage {
namespace {

using testing::temp_dir;

unsigned mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& content,
                mode_t mode) {
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
}

const std::string key_hex(64, 'a');

TEST(Secrets, GeneratesPrivateFilesOnceAndReusesThem) {
  temp_dir tmp;
  auto dir = tmp.path() + "/var/data";
  auto first = load_or_create_secrets(dir, "", "");
  EXPECT_EQ(first.master_key.size(), 32u);
  EXPECT_GE(first.jwt_secret.size(), 32u);
  EXPECT_EQ(mode_of(dir), 0700u);
  EXPECT_EQ(mode_of(dir + "/master.key"), 0600u);
  EXPECT_EQ(mode_of(dir + "/jwt.secret"), 0600u);
  auto master_text = read_all(dir + "/master.key");
  EXPECT_EQ(master_text.size(), 65u); // 64 hex and a newline
  auto second = load_or_create_secrets(dir, "", "");
  EXPECT_EQ(second.master_key, first.master_key);
  EXPECT_EQ(second.jwt_secret, first.jwt_secret);
  EXPECT_EQ(read_all(dir + "/master.key"), master_text);
  // Two data directories never share generated secrets.
  auto other = load_or_create_secrets(tmp.path() + "/other", "", "");
  EXPECT_NE(other.master_key, first.master_key);
  EXPECT_NE(other.jwt_secret, first.jwt_secret);
}

TEST(Secrets, EnvironmentValuesWinAndWriteNothing) {
  temp_dir tmp;
  auto dir = tmp.path() + "/data";
  auto s = load_or_create_secrets(dir, key_hex, "jwt-from-env");
  EXPECT_EQ(s.master_key, std::string(32, '\xaa'));
  EXPECT_EQ(s.jwt_secret, "jwt-from-env");
  struct stat st {};
  EXPECT_NE(::stat(dir.c_str(), &st), 0);
  // One from the environment, one from the file.
  auto mixed = load_or_create_secrets(dir, key_hex, "");
  EXPECT_EQ(mixed.master_key, s.master_key);
  EXPECT_EQ(mode_of(dir + "/jwt.secret"), 0600u);
  EXPECT_NE(::stat((dir + "/master.key").c_str(), &st), 0);
}

TEST(Secrets, RejectsAMalformedMasterKey) {
  temp_dir tmp;
  EXPECT_THROW(load_or_create_secrets(tmp.path(), "abcd", "j"), storage_error);
  EXPECT_THROW(load_or_create_secrets(tmp.path(), std::string(64, 'z'), "j"),
               storage_error);
  write_file(tmp.path() + "/master.key", "not hex", 0600);
  EXPECT_THROW(load_or_create_secrets(tmp.path(), "", "j"), storage_error);
}

TEST(Secrets, RefusesFilesOthersCanRead) {
  temp_dir tmp;
  write_file(tmp.path() + "/master.key", key_hex, 0644);
  try {
    load_or_create_secrets(tmp.path(), "", "");
    FAIL() << "a 0644 master.key was accepted";
  } catch (const storage_error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("0644"), std::string::npos) << what;
    EXPECT_NE(what.find("master.key"), std::string::npos) << what;
    EXPECT_EQ(what.find(key_hex), std::string::npos) << what;
  }
  ::chmod((tmp.path() + "/master.key").c_str(), 0600);
  write_file(tmp.path() + "/jwt.secret", "secret", 0640);
  EXPECT_THROW(load_or_create_secrets(tmp.path(), "", ""), storage_error);
  ::chmod((tmp.path() + "/jwt.secret").c_str(), 0600);
  auto s = load_or_create_secrets(tmp.path(), "", "");
  EXPECT_EQ(s.master_key, std::string(32, '\xaa'));
  EXPECT_EQ(s.jwt_secret, "secret");
}

TEST(Secrets, SealAndOpenRoundTrip) {
  temp_dir tmp;
  auto s = load_or_create_secrets(tmp.path(), "", "");
  const std::string plain = "sk-provider-key-123";
  auto sealed = seal_secret(s, plain, "org1/openai");
  EXPECT_EQ(sealed.find(plain), std::string::npos);
  EXPECT_EQ(sealed.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(seal_secret(s, plain, "org1/openai"), sealed); // fresh nonce
  EXPECT_EQ(open_secret(s, sealed, "org1/openai"), plain);
  EXPECT_EQ(open_secret(s, sealed, "org2/openai"), std::nullopt);
  auto tampered = sealed;
  tampered[30] = tampered[30] == '0' ? '1' : '0';
  EXPECT_EQ(open_secret(s, tampered, "org1/openai"), std::nullopt);
  EXPECT_EQ(open_secret(s, "zz", "org1/openai"), std::nullopt);
  EXPECT_EQ(open_secret(s, "", "org1/openai"), std::nullopt);
  secrets other = s;
  other.master_key = std::string(32, '\x01');
  EXPECT_EQ(open_secret(other, sealed, "org1/openai"), std::nullopt);
  EXPECT_EQ(open_secret(s, seal_secret(s, "", "a"), "a"), "");
}

} // namespace
} // namespace gatehouse::storage
