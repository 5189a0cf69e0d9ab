#include "policy/json_parse.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace gatehouse::policy;
using nlohmann::json;

TEST(json_parse, accepts_one_complete_value) {
  json j;
  EXPECT_EQ(parse_json(R"({"a":[1,2,{"b":null}]})", 8, j), json_fault::none);
  EXPECT_EQ(j["a"][2].size(), 1u);
  EXPECT_EQ(parse_json(" 42 \n", 8, j), json_fault::none);
  EXPECT_EQ(parse_json(R"("{[not brackets]}")", 1, j), json_fault::none);
}

TEST(json_parse, refuses_trailing_bytes_and_nul) {
  json j;
  EXPECT_EQ(parse_json("{} x", 8, j), json_fault::syntax);
  EXPECT_TRUE(j.is_discarded());
  EXPECT_EQ(parse_json(std::string("{}\0garbage", 10), 8, j),
            json_fault::nul_byte);
  EXPECT_EQ(parse_json(std::string("{\"a\":\"\0\"}", 9), 8, j),
            json_fault::nul_byte);
  EXPECT_EQ(parse_json("", 8, j), json_fault::syntax);
}

TEST(json_parse, refuses_invalid_utf8) {
  json j;
  EXPECT_EQ(parse_json("{\"model\":\"gpt\xff\"}", 8, j), json_fault::syntax);
  EXPECT_EQ(parse_json("{\"a\":1}\xff", 8, j), json_fault::syntax);
}

TEST(json_parse, bounds_depth) {
  json j;
  EXPECT_EQ(parse_json("[[[[]]]]", 4, j), json_fault::none);
  EXPECT_EQ(parse_json("[[[[[]]]]]", 4, j), json_fault::too_deep);
  // A megabyte of brackets is refused before nlohmann sees it.
  std::string deep(1 << 20, '[');
  EXPECT_EQ(parse_json(deep, default_json_depth, j), json_fault::too_deep);
  std::string ok = std::string(default_json_depth, '[')
                   + std::string(default_json_depth, ']');
  EXPECT_EQ(parse_json(ok, default_json_depth, j), json_fault::none);
  EXPECT_NO_THROW(j.dump());
}

TEST(json_parse, ordered_values_keep_member_order) {
  nlohmann::ordered_json j;
  EXPECT_EQ(parse_json(R"({"z":1,"a":2})", 8, j), json_fault::none);
  EXPECT_EQ(j.dump(), R"({"z":1,"a":2})");
}

TEST(json_parse, faults_have_messages) {
  EXPECT_STREQ(describe(json_fault::syntax), "is not valid JSON");
  EXPECT_STREQ(describe(json_fault::too_deep), "is nested too deeply");
}
