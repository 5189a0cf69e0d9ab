#include "policy/proxy_path.hpp"

#include <gtest/gtest.h>

using gatehouse::policy::proxied_path_problem;

TEST(proxy_path, ordinary_paths_pass) {
  for (auto p : {"/v1/chat/completions", "/v1/models", "/v1", "/v1/",
                 "/v1/files/file-abc.jsonl", "/v1/a..b/c", "/v1/%20x",
                 "/v1/models/gpt-4o-mini"})
    EXPECT_FALSE(proxied_path_problem(p)) << p;
}

TEST(proxy_path, dot_segments_are_refused) {
  for (auto p : {"/v1/../admin", "/v1/chat/../../x", "/v1/./models",
                 "/v1/..", "/v1/."})
    EXPECT_TRUE(proxied_path_problem(p)) << p;
}

TEST(proxy_path, encoded_dots_slashes_and_backslashes_are_refused) {
  for (auto p : {"/v1/%2e%2e/admin", "/v1/%2E%2E/x", "/v1/chat%2fcompletions",
                 "/v1/a%2Fb", "/v1/a%5cb", "/v1/a%5Cb", "/v1/a\\b",
                 "/v1/.%2e/x", "/v1/%2e"})
    EXPECT_TRUE(proxied_path_problem(p)) << p;
}

TEST(proxy_path, non_printable_bytes_are_refused) {
  EXPECT_TRUE(proxied_path_problem("/v1/a b"));
  EXPECT_TRUE(proxied_path_problem("/v1/\xff"));
  EXPECT_TRUE(proxied_path_problem(std::string("/v1/a\0b", 7)));
  // A truncated escape at the end is harmless.
  EXPECT_FALSE(proxied_path_problem("/v1/a%2"));
}
