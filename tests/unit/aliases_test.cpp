#include "policy/aliases.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

using namespace gatehouse::policy;
using nlohmann::json;

namespace {

std::string refusal(const json& value) {
  auto r = parse_aliases(value, "aliases");
  EXPECT_FALSE(r.ok()) << value.dump();
  if (r.ok())
    return {};
  EXPECT_EQ(r.error().code, errc::invalid_request);
  return r.error().message;
}

} // namespace

TEST(Aliases, ReadsATableAndWritesItBack) {
  auto r = parse_aliases(json{{"fast", "openai/gpt-4o-mini"}, {"b", "x"}},
                         "aliases");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().at("fast"), "openai/gpt-4o-mini");
  EXPECT_EQ(to_json(r.value()),
            (json{{"b", "x"}, {"fast", "openai/gpt-4o-mini"}}));
  EXPECT_EQ(read_aliases(to_json(r.value()).dump()), r.value());
  EXPECT_TRUE(parse_aliases(json::object(), "aliases").value().empty());
}

TEST(Aliases, RefusesMalformedTablesNamingTheField) {
  EXPECT_NE(refusal(json::array()).find("field 'aliases'"), std::string::npos);
  EXPECT_NE(refusal(json{{"fast", 1}}).find("aliases.fast"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"fast", ""}}).find("aliases.fast"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"fast", "a b"}}).find("whitespace"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"", "x"}}).find("alias name"), std::string::npos);
  EXPECT_NE(refusal(json{{std::string(129, 'n'), "x"}}).find("too long"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"fast", std::string(257, 'm')}}).find("too long"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"fast", "\x01"}}).find("control"),
            std::string::npos);
  json many = json::object();
  for (int i = 0; i <= static_cast<int>(max_aliases); ++i)
    many["a" + std::to_string(i)] = "m";
  EXPECT_NE(refusal(many).find("at most"), std::string::npos);
}

TEST(Aliases, DoNotChainWithinATable) {
  EXPECT_NE(refusal(json{{"a", "b"}, {"b", "c"}}).find("aliases.a"),
            std::string::npos);
  EXPECT_NE(refusal(json{{"self", "self"}}).find("itself"), std::string::npos);
}

TEST(Aliases, ResolveTheAppsFirstThenTheOrgsInOneStep) {
  alias_table org{{"fast", "gpt-4o-mini"}, {"cheap", "gpt-3.5-turbo"}};
  alias_table app{{"fast", "gpt-4o"}, {"mine", "cheap"}};
  EXPECT_EQ(*resolve_alias(&app, org, "fast"), "gpt-4o");
  EXPECT_EQ(*resolve_alias(nullptr, org, "fast"), "gpt-4o-mini");
  EXPECT_EQ(*resolve_alias(&app, org, "cheap"), "gpt-3.5-turbo");
  // A target is not looked up again.
  EXPECT_EQ(*resolve_alias(&app, org, "mine"), "cheap");
  EXPECT_EQ(resolve_alias(&app, org, "gpt-4o"), nullptr);
  EXPECT_EQ(resolve_alias(nullptr, {}, ""), nullptr);
}

TEST(Aliases, StoredTextThatDoesNotReadBackIsNoTable) {
  EXPECT_TRUE(read_aliases("").empty());
  EXPECT_TRUE(read_aliases("{}").empty());
  EXPECT_TRUE(read_aliases("[1]").empty());
  EXPECT_TRUE(read_aliases("{oops").empty());
}
