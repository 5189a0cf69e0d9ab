#include "policy/validate.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace gatehouse::policy;

namespace {

using strings = std::vector<std::string>;

} // namespace

TEST(validate, trim_and_utf8) {
  EXPECT_EQ(trim("  a b \t\n"), "a b");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_TRUE(is_valid_utf8("plain"));
  EXPECT_TRUE(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc3")); // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf")); // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80")); // surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // beyond U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\x80"));
}

TEST(validate, good_emails) {
  for (const std::string& e :
       strings{"a@b.co", "ann.lee+tag@example.com",
               "x_y@sub.domain.example.org", "UPPER@EXAMPLE.COM", "1@2.3"}) {
    EXPECT_FALSE(validate_email(e)) << e;
  }
  std::string longest = std::string(64, 'a') + "@" + std::string(185, 'b')
                        + ".com";
  ASSERT_EQ(longest.size(), 254u);
  EXPECT_FALSE(validate_email(longest));
}

TEST(validate, bad_emails) {
  std::string too_long = std::string(64, 'a') + "@" + std::string(186, 'b')
                         + ".com";
  for (const std::string& e :
       strings{"", "plain", "@example.com", "a@", "a@b", "a@@b.com",
               "a@b@c.com", "a b@c.com", "a@b .com", " a@b.com", "a@b.com ",
               "a\t@b.com", "a@b.com\n", "a@.com", "a@b.", "a@b..com",
               "a\x7f@b.com", std::string(65, 'a') + "@b.com", too_long}) {
    auto err = validate_email(e);
    ASSERT_TRUE(err) << "'" << e << "'";
    EXPECT_NE(err->find("email"), std::string::npos);
  }
}

TEST(validate, normalize_email) {
  EXPECT_EQ(normalize_email("  Ann.Lee@Example.COM \n"), "ann.lee@example.com");
  EXPECT_EQ(normalize_email("a@b.co"), "a@b.co");
  EXPECT_FALSE(validate_email(normalize_email(" A@B.CO ")));
}

TEST(validate, passwords) {
  EXPECT_FALSE(validate_password("12345678"));
  EXPECT_FALSE(validate_password(std::string(72, 'p')));
  EXPECT_FALSE(validate_password("p\xc3\xa4ssw\xc3\xb6rd"));
  EXPECT_TRUE(validate_password(""));
  EXPECT_TRUE(validate_password("1234567"));
  EXPECT_TRUE(validate_password(std::string(73, 'p')));
  EXPECT_TRUE(validate_password(std::string("1234\0"
                                            "5678",
                                            9)));
  EXPECT_NE(validate_password("short")->find("password"), std::string::npos);
}

TEST(validate, org_slugs) {
  for (const std::string& s : strings{"abc", "acme", "acme-corp", "a1b", "123",
                                      "a-b-c", std::string(63, 'a')})
    EXPECT_FALSE(validate_org_slug(s)) << s;
  for (const std::string& s :
       strings{"", "ab", std::string(64, 'a'), "-abc", "abc-", "a--b", "Acme",
               "acme_corp", "acme corp", "acme.corp", "caf\xc3\xa9"}) {
    auto err = validate_org_slug(s);
    ASSERT_TRUE(err) << "'" << s << "'";
    EXPECT_NE(err->find("org_slug"), std::string::npos);
  }
}

TEST(validate, display_names) {
  EXPECT_FALSE(validate_display_name("Ann Lee"));
  EXPECT_FALSE(validate_display_name("  Ann  "));
  EXPECT_FALSE(validate_display_name("J"));
  EXPECT_FALSE(validate_display_name("Zo\xc3\xab \xf0\x9f\x98\x80"));
  EXPECT_FALSE(validate_display_name(std::string(100, 'x')));
  // 100 two-byte characters are 100 characters, not 200.
  std::string umlauts;
  for (int i = 0; i < 100; ++i)
    umlauts += "\xc3\xa4";
  EXPECT_FALSE(validate_display_name(umlauts));
  EXPECT_FALSE(validate_display_name("  " + std::string(100, 'x') + "  "));

  EXPECT_TRUE(validate_display_name(""));
  EXPECT_TRUE(validate_display_name("   "));
  EXPECT_TRUE(validate_display_name(std::string(101, 'x')));
  EXPECT_TRUE(validate_display_name(umlauts + "\xc3\xa4"));
  EXPECT_TRUE(validate_display_name("Ann\nLee"));
  EXPECT_TRUE(validate_display_name("Ann\x01"));
  EXPECT_TRUE(validate_display_name("Ann\x7f"));
  EXPECT_TRUE(validate_display_name("Ann\xc2\x85")); // U+0085 (C1 control)
  EXPECT_TRUE(validate_display_name("Ann\xff"));
  EXPECT_EQ(*validate_display_name(""), "is required");
}

TEST(validate, provider_names) {
  for (const std::string& s : strings{"openai", "a", "0", "azure-openai",
                                      "my_llm_2", "a" + std::string(63, '-')})
    EXPECT_FALSE(validate_provider_name(s)) << s;
  for (const std::string& s :
       strings{"", "OpenAI", "-openai", "_openai", "open ai", "open.ai",
               "a" + std::string(64, 'b'), "op\xc3\xa9n"})
    EXPECT_TRUE(validate_provider_name(s)) << "'" << s << "'";
}

TEST(validate, uuids) {
  EXPECT_TRUE(is_uuid("123e4567-e89b-42d3-a456-426614174000"));
  EXPECT_TRUE(is_uuid("123E4567-E89B-42D3-A456-426614174000"));
  EXPECT_TRUE(is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(is_uuid(""));
  EXPECT_FALSE(is_uuid("123e4567e89b42d3a456426614174000"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a456-42661417400"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a456-4266141740000"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a456_426614174000"));
  EXPECT_FALSE(is_uuid("g23e4567-e89b-42d3-a456-426614174000"));
  EXPECT_FALSE(is_uuid("{123e4567-e89b-42d3-a456-426614174000}"));
  EXPECT_FALSE(is_uuid("123e4567-e89b-42d3-a4564-26614174000"));
}

TEST(validate, slugify) {
  EXPECT_EQ(slugify("Customer Support AI"), "customer-support-ai");
  EXPECT_EQ(slugify("  --Hello,   World!!  "), "hello-world");
  EXPECT_EQ(slugify("already-a-slug"), "already-a-slug");
  EXPECT_EQ(slugify("snake_case_name"), "snake-case-name");
  EXPECT_EQ(slugify("Caf\xc3\xa9 Bot 2"), "caf-bot-2");
  EXPECT_EQ(slugify("v1.2"), "v1-2");
  EXPECT_EQ(slugify(""), "app");
  EXPECT_EQ(slugify("!!!"), "app");
  EXPECT_EQ(slugify("\xe2\x82\xac"), "app");
  EXPECT_EQ(slugify(std::string(100, 'a')), std::string(63, 'a'));
  // Truncation never leaves a trailing dash.
  auto s = slugify(std::string(62, 'a') + " b");
  EXPECT_EQ(s, std::string(62, 'a'));
  EXPECT_LE(slugify(std::string(200, 'x') + " y").size(), 63u);
}

TEST(validate, numbered_slug) {
  EXPECT_EQ(numbered_slug("customer-support-ai", 1), "customer-support-ai");
  EXPECT_EQ(numbered_slug("customer-support-ai", 2), "customer-support-ai-2");
  EXPECT_EQ(numbered_slug("app", 3), "app-3");
  auto long_slug = std::string(63, 'a');
  EXPECT_EQ(numbered_slug(long_slug, 2), std::string(61, 'a') + "-2");
  EXPECT_EQ(numbered_slug(long_slug, 10), std::string(60, 'a') + "-10");
  EXPECT_EQ(numbered_slug(std::string(59, 'a') + "-bcd", 12),
            std::string(59, 'a') + "-12");
}
