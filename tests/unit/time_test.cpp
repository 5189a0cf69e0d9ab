#include "policy/time.hpp"

#include <gtest/gtest.h>

using namespace gatehouse::policy;

TEST(time, formats_utc) {
  EXPECT_EQ(rfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(rfc3339(1795439780), "2026-11-23T13:16:20Z");
  EXPECT_EQ(rfc3339(951782400), "2000-02-29T00:00:00Z");
  EXPECT_EQ(rfc3339(1704067199), "2023-12-31T23:59:59Z");
  EXPECT_EQ(rfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(rfc3339(253402300799), "9999-12-31T23:59:59Z");
  // Past four digits of year: printed in full.
  EXPECT_EQ(rfc3339(253402300800), "10000-01-01T00:00:00Z");
}

TEST(time, parses_utc) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20Z"), 1795439780);
  EXPECT_EQ(parse_rfc3339("2026-11-23t13:16:20z"), 1795439780);
  EXPECT_EQ(parse_rfc3339("2000-02-29T00:00:00Z"), 951782400);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), -1);
}

TEST(time, round_trip) {
  for (long long t : {0LL, 1LL, 86399LL, 86400LL, 951782400LL, 1700000000LL,
                      1795439780LL, 4102444800LL, -86401LL})
    EXPECT_EQ(parse_rfc3339(rfc3339(t)), t) << t;
  for (long long t = 1'600'000'000; t < 1'900'000'000; t += 7'777'777)
    EXPECT_EQ(parse_rfc3339(rfc3339(t)), t) << t;
}

TEST(time, offsets) {
  long long utc = 1795439780; // 2026-11-23T13:16:20Z
  EXPECT_EQ(parse_rfc3339("2026-11-23T14:16:20+01:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-23T08:16:20-05:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-23T18:46:20+05:30"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20+00:00"), utc);
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20-00:00"), utc);
  // An offset can cross a day and a year boundary.
  EXPECT_EQ(parse_rfc3339("2026-12-31T23:30:00-01:00"),
            parse_rfc3339("2027-01-01T00:30:00Z"));
}

TEST(time, fractions_are_truncated) {
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20.999Z"), 1795439780);
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20.1Z"), 1795439780);
  EXPECT_EQ(parse_rfc3339("2026-11-23T13:16:20.123456789+01:00"),
            1795439780 - 3600);
}

TEST(time, rejects_malformed) {
  for (const char* bad : {"",
                          "2026-11-23",
                          "2026-11-23T13:16:20",
                          "2026-11-23 13:16:20Z",
                          "2026-11-23T13:16Z",
                          "26-11-28T13:16:20Z",
                          "2026-1-28T13:16:20Z",
                          "2026-13-01T00:00:00Z",
                          "2026-00-01T00:00:00Z",
                          "2026-02-29T00:00:00Z",
                          "2026-04-31T00:00:00Z",
                          "2026-11-00T00:00:00Z",
                          "2026-11-23T24:00:00Z",
                          "2026-11-23T23:60:00Z",
                          "2026-11-23T23:59:60Z",
                          "2026-11-23T13:16:20.Z",
                          "2026-11-23T13:16:20+0100",
                          "2026-11-23T13:16:20+01",
                          "2026-11-23T13:16:20+24:00",
                          "2026-11-23T13:16:20+01:60",
                          "2026-11-23T13:16:20ZZ",
                          "2026-11-23T13:16:20Z ",
                          " 2026-11-23T13:16:20Z",
                          "2026-11-23T13:16:20UTC",
                          "x026-11-28T13:16:20Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

TEST(time, month_boundaries) {
  auto dec31 = *parse_rfc3339("2026-12-31T23:59:59Z");
  EXPECT_EQ(seconds_to_next_utc_month(dec31), 1);
  auto dec1 = *parse_rfc3339("2026-12-01T00:00:00Z");
  EXPECT_EQ(seconds_to_next_utc_month(dec1), 31 * 86400);
  auto mid_dec = *parse_rfc3339("2026-12-15T12:00:00Z");
  EXPECT_EQ(mid_dec + seconds_to_next_utc_month(mid_dec),
            *parse_rfc3339("2027-01-01T00:00:00Z"));
  // February of a leap year.
  auto feb = *parse_rfc3339("2028-02-01T00:00:00Z");
  EXPECT_EQ(seconds_to_next_utc_month(feb), 29 * 86400);
  auto feb_non_leap = *parse_rfc3339("2027-02-01T00:00:00Z");
  EXPECT_EQ(seconds_to_next_utc_month(feb_non_leap), 28 * 86400);
  // A local time that is still November is already December in UTC.
  auto late = *parse_rfc3339("2026-11-30T23:30:00-01:00");
  EXPECT_EQ(seconds_to_next_utc_month(late), 31 * 86400 - 1800);
}

TEST(time, month_start) {
  EXPECT_EQ(utc_month_start(*parse_rfc3339("2026-12-31T23:59:59Z")),
            *parse_rfc3339("2026-12-01T00:00:00Z"));
  EXPECT_EQ(utc_month_start(*parse_rfc3339("2027-01-01T00:00:00Z")),
            *parse_rfc3339("2027-01-01T00:00:00Z"));
  EXPECT_EQ(utc_month_start(0), 0);
}

TEST(time, formats_milliseconds_in_sortable_form) {
  EXPECT_EQ(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_ms(1'795'440'847'042), "2026-11-23T13:34:07.042Z");
  EXPECT_EQ(rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_LT(rfc3339_ms(1'795'440'847'999), rfc3339_ms(1'795'440'848'000));
  EXPECT_EQ(parse_rfc3339(rfc3339_ms(1'795'440'847'042)), 1'795'440'847);
}
