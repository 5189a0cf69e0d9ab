#include "policy/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

#include <sys/wait.h>
#include <unistd.h>

using namespace gatehouse::policy;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

histogram_data small_histogram() {
  histogram_data h;
  h.bounds = {0.1, 1, 2.5};
  h.counts = {2, 0, 3, 1};
  h.sum = 7.25;
  h.count = 6;
  return h;
}

} // namespace

TEST(prometheus, counter_with_labels) {
  metrics_text m;
  m.counter("gatehouse_requests_total", "Proxied requests.",
            {{{{"provider", "openai"}, {"status", "200"}}, 3},
             {{{"provider", "anthropic"}, {"status", "502"}}, 1}});
  EXPECT_EQ(m.str(),
            "# HELP gatehouse_requests_total Proxied requests.\n"
            "# TYPE gatehouse_requests_total counter\n"
            "gatehouse_requests_total{provider=\"openai\",status=\"200\"} 3\n"
            "gatehouse_requests_total{provider=\"anthropic\",status=\"502\"}"
            " 1\n");
}

TEST(prometheus, gauge_without_labels_and_families_in_call_order) {
  metrics_text m;
  m.gauge("streams_in_flight", "Streams now.", {{{}, 2}});
  m.counter("spend_usd_total", "Spend.", {{{}, 0.125}});
  EXPECT_EQ(m.str(), "# HELP streams_in_flight Streams now.\n"
                     "# TYPE streams_in_flight gauge\n"
                     "streams_in_flight 2\n"
                     "# HELP spend_usd_total Spend.\n"
                     "# TYPE spend_usd_total counter\n"
                     "spend_usd_total 0.125\n");
}

TEST(prometheus, family_without_samples_has_only_its_header) {
  metrics_text m;
  m.counter("errors_total", "Errors.", {});
  EXPECT_EQ(m.str(), "# HELP errors_total Errors.\n"
                     "# TYPE errors_total counter\n");
  EXPECT_EQ(metrics_text{}.str(), "");
}

TEST(prometheus, label_values_are_escaped) {
  metrics_text m;
  m.gauge("g", "x",
          {{{{"path", "C:\\dir"}, {"q", "say \"hi\""}, {"nl", "a\nb"}}, 1},
           {{{"utf8", "caf\xc3\xa9 {}=,"}}, 2}});
  EXPECT_EQ(m.str(),
            "# HELP g x\n"
            "# TYPE g gauge\n"
            "g{path=\"C:\\\\dir\",q=\"say \\\"hi\\\"\",nl=\"a\\nb\"} 1\n"
            "g{utf8=\"caf\xc3\xa9 {}=,\"} 2\n");
}

TEST(prometheus, help_text_is_escaped) {
  metrics_text m;
  m.gauge("g", "back\\slash, \"quotes\" and\nnewline", {});
  EXPECT_EQ(m.str(), "# HELP g back\\\\slash, \"quotes\" and\\nnewline\n"
                     "# TYPE g gauge\n");
}

TEST(prometheus, histogram_buckets_are_cumulative) {
  metrics_text m;
  m.histogram("latency_seconds", "Latency.", {{{}, small_histogram()}});
  EXPECT_EQ(m.str(), "# HELP latency_seconds Latency.\n"
                     "# TYPE latency_seconds histogram\n"
                     "latency_seconds_bucket{le=\"0.1\"} 2\n"
                     "latency_seconds_bucket{le=\"1\"} 2\n"
                     "latency_seconds_bucket{le=\"2.5\"} 5\n"
                     "latency_seconds_bucket{le=\"+Inf\"} 6\n"
                     "latency_seconds_sum 7.25\n"
                     "latency_seconds_count 6\n");
}

TEST(prometheus, histogram_series_keep_their_labels_before_le) {
  histogram_data empty;
  empty.bounds = {1};
  empty.counts = {0, 0};
  histogram_data one;
  one.bounds = {1};
  one.counts = {0, 1};
  one.sum = 1.5;
  one.count = 1;
  metrics_text m;
  m.histogram("h", "H.",
              {{{{"provider", "a"}}, empty}, {{{"provider", "b\""}}, one}});
  EXPECT_EQ(m.str(), "# HELP h H.\n"
                     "# TYPE h histogram\n"
                     "h_bucket{provider=\"a\",le=\"1\"} 0\n"
                     "h_bucket{provider=\"a\",le=\"+Inf\"} 0\n"
                     "h_sum{provider=\"a\"} 0\n"
                     "h_count{provider=\"a\"} 0\n"
                     "h_bucket{provider=\"b\\\"\",le=\"1\"} 0\n"
                     "h_bucket{provider=\"b\\\"\",le=\"+Inf\"} 1\n"
                     "h_sum{provider=\"b\\\"\"} 1.5\n"
                     "h_count{provider=\"b\\\"\"} 1\n");
}

TEST(prometheus, histogram_without_bounds_has_only_inf) {
  histogram_data h;
  h.counts = {4};
  h.sum = 2;
  h.count = 4;
  metrics_text m;
  m.histogram("h", "H.", {{{}, h}});
  EXPECT_EQ(m.str(), "# HELP h H.\n"
                     "# TYPE h histogram\n"
                     "h_bucket{le=\"+Inf\"} 4\n"
                     "h_sum 2\n"
                     "h_count 4\n");
}

TEST(prometheus, large_counts_are_exact) {
  histogram_data h;
  h.counts = {std::numeric_limits<std::uint64_t>::max()};
  h.count = std::numeric_limits<std::uint64_t>::max();
  metrics_text m;
  m.histogram("h", "H.", {{{}, h}});
  EXPECT_NE(m.str().find("h_bucket{le=\"+Inf\"} 18446744073709551615\n"),
            std::string::npos);
  EXPECT_NE(m.str().find("h_count 18446744073709551615\n"), std::string::npos);
}

TEST(prometheus, values_print_as_integers_or_round_trip) {
  EXPECT_EQ(format_value(0), "0");
  EXPECT_EQ(format_value(-0.0), "0");
  EXPECT_EQ(format_value(1), "1");
  EXPECT_EQ(format_value(-3), "-3");
  EXPECT_EQ(format_value(42), "42");
  EXPECT_EQ(format_value(1e15), "1000000000000000");
  EXPECT_EQ(format_value(1e18), "1000000000000000000");
  EXPECT_EQ(format_value(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(format_value(0.1), "0.1");
  EXPECT_EQ(format_value(2.5), "2.5");
  EXPECT_EQ(format_value(0.005), "0.005");
  EXPECT_EQ(format_value(123.456), "123.456");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_EQ(format_value(1e300), "1e+300");
  EXPECT_EQ(format_value(std::nan("")), "NaN");
  EXPECT_EQ(format_value(inf), "+Inf");
  EXPECT_EQ(format_value(-inf), "-Inf");
  for (double v : {1.0 / 3, 0.1 + 0.2, 1e-300, 123456789.123456789,
                   -2.718281828459045, 5e-324, 1.7976931348623157e308,
                   18446744073709551616.0, 9223372036854775808.0}) {
    auto text = format_value(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
    EXPECT_LE(text.size(), 24u) << text;
  }
}

TEST(prometheus, metric_and_label_name_rules) {
  for (const char* ok :
       {"a", "_", ":", "a:b_c9", "gatehouse_x_total", "A_b:C", "__reserved_ok"})
    EXPECT_TRUE(is_metric_name(ok)) << ok;
  for (const char* bad : {"", "9a", "a-b", "a b", "a.b", "é", "a\n"})
    EXPECT_FALSE(is_metric_name(bad)) << bad;
  for (const char* ok : {"a", "_", "provider", "A9_b"})
    EXPECT_TRUE(is_label_name(ok)) << ok;
  for (const char* bad : {"", "9a", "a:b", "a-b", "a b"})
    EXPECT_FALSE(is_label_name(bad)) << bad;
}

TEST(prometheus, bad_names_throw_and_write_nothing) {
  metrics_text m;
  m.gauge("ok", "Ok.", {{{}, 1}});
  auto before = m.str();
  EXPECT_THROW(m.gauge("bad-name", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.gauge("", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.gauge("1st", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.counter("a:b-c_total", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.histogram("h h", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.gauge("g", "x", {{{{"bad:label", "v"}}, 1}}),
               std::invalid_argument);
  EXPECT_THROW(m.gauge("g", "x", {{{{"9", "v"}}, 1}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("g", "x", {{{{"", "v"}}, 1}}), std::invalid_argument);
  EXPECT_THROW(m.gauge("g", "x", {{{{"__name__", "v"}}, 1}}),
               std::invalid_argument);
  EXPECT_THROW(m.gauge("g", "x", {{{{"a", "1"}, {"a", "2"}}, 1}}),
               std::invalid_argument);
  // A bad label on a later sample rejects the whole family.
  EXPECT_THROW(m.gauge("g", "x", {{{{"a", "1"}}, 1}, {{{"b-c", "2"}}, 1}}),
               std::invalid_argument);
  EXPECT_EQ(m.str(), before);
  // Nothing was claimed by the failed calls.
  m.gauge("g", "x", {{{{"a", "1"}}, 1}});
  EXPECT_NE(m.str(), before);
}

TEST(prometheus, counters_must_end_in_total) {
  metrics_text m;
  EXPECT_THROW(m.counter("requests", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.counter("requests_totals", "x", {}), std::invalid_argument);
  EXPECT_NO_THROW(m.counter("requests_total", "x", {}));
  EXPECT_NO_THROW(m.gauge("temperature", "x", {}));
}

TEST(prometheus, names_may_not_be_reused) {
  metrics_text m;
  m.counter("a_total", "x", {});
  EXPECT_THROW(m.counter("a_total", "x", {}), std::invalid_argument);
  EXPECT_THROW(m.gauge("a_total", "x", {}), std::invalid_argument);
  m.histogram("lat", "x", {});
  for (const char* taken : {"lat", "lat_bucket", "lat_sum", "lat_count"})
    EXPECT_THROW(m.gauge(taken, "x", {}), std::invalid_argument) << taken;
  m.gauge("b_sum", "x", {});
  EXPECT_THROW(m.histogram("b", "x", {}), std::invalid_argument);
}

TEST(prometheus, inconsistent_histograms_throw) {
  using change = void (*)(histogram_data&);
  const change changes[] = {
    [](histogram_data& h) { h.counts.pop_back(); },
    [](histogram_data& h) { h.counts.push_back(0); },
    [](histogram_data& h) {
      h.bounds = {1, 0.1, 2.5};
    },
    [](histogram_data& h) {
      h.bounds = {0.1, 0.1, 2.5};
    },
    [](histogram_data& h) {
      h.bounds = {0.1, 1, inf};
    },
    [](histogram_data& h) {
      h.bounds = {-inf, 1, 2.5};
    },
    [](histogram_data& h) {
      h.bounds = {std::nan(""), 1, 2.5};
    },
    [](histogram_data& h) { h.count = 7; },
  };
  metrics_text m;
  for (std::size_t i = 0; i < std::size(changes); ++i) {
    auto h = small_histogram();
    changes[i](h);
    EXPECT_THROW(m.histogram("h", "x", {{{}, h}}), std::invalid_argument)
      << "change " << i;
  }
  EXPECT_THROW(m.histogram("h", "x", {{{{"le", "1"}}, small_histogram()}}),
               std::invalid_argument);
  // A bad series after a good one rejects the whole family.
  auto bad = small_histogram();
  bad.count = 0;
  EXPECT_THROW(m.histogram("h", "x", {{{}, small_histogram()}, {{}, bad}}),
               std::invalid_argument);
  EXPECT_EQ(m.str(), "");
  // "le" is only reserved for histograms.
  EXPECT_NO_THROW(m.gauge("g", "x", {{{{"le", "1"}}, 1}}));
}

TEST(prometheus, latency_buckets) {
  const std::vector<double> expected{
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
  EXPECT_EQ(latency_buckets_seconds(), expected);
}

TEST(prometheus, bucket_index_includes_the_upper_bound) {
  const auto& b = latency_buckets_seconds();
  EXPECT_EQ(bucket_index(b, -1), 0u);
  EXPECT_EQ(bucket_index(b, 0), 0u);
  EXPECT_EQ(bucket_index(b, 0.005), 0u);
  EXPECT_EQ(bucket_index(b, 0.0051), 1u);
  EXPECT_EQ(bucket_index(b, 0.01), 1u);
  EXPECT_EQ(bucket_index(b, 0.7), 7u);
  EXPECT_EQ(bucket_index(b, 1), 7u);
  EXPECT_EQ(bucket_index(b, 300), 14u);
  EXPECT_EQ(bucket_index(b, 300.001), 15u);
  EXPECT_EQ(bucket_index(b, inf), 15u);
  EXPECT_EQ(bucket_index(b, std::nan("")), 15u);
  EXPECT_EQ(bucket_index({}, 1), 0u);
}

TEST(prometheus, promtool_accepts_the_exposition) {
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) != 0)
    GTEST_SKIP() << promtool << " is not installed";
  metrics_text m;
  m.counter("gatehouse_requests_total",
            "Proxied requests by provider and HTTP status.",
            {{{{"provider", "openai"}, {"status", "200"}}, 12},
             {{{"provider", "we\"ird\\name\nx"}, {"status", "502"}}, 1}});
  m.counter("gatehouse_errors_total", "Refused requests by error code.", {});
  m.counter("gatehouse_spend_usd_total", "Priced spend in USD.",
            {{{}, 0.000123}});
  m.gauge("gatehouse_streams_in_flight",
          "Streams being relayed now; a \\ and\na newline.", {{{}, 0}});
  histogram_data h;
  h.bounds = latency_buckets_seconds();
  h.counts.assign(h.bounds.size() + 1, 0);
  h.counts[0] = 3;
  h.counts[8] = 2;
  h.counts.back() = 1;
  h.sum = 0.012 + 4.2 + 301.5;
  h.count = 6;
  m.histogram("gatehouse_upstream_latency_seconds",
              "Time from receiving a request to the end of its answer.",
              {{{{"provider", "openai"}}, h}, {{{"provider", "b"}}, h}});

  auto path = std::filesystem::temp_directory_path()
              / ("gatehouse_metrics_" + std::to_string(::getpid()) + ".txt");
  {
    std::ofstream out{path, std::ios::binary};
    out << m.str();
  }
  auto report = path;
  report += ".out";
  auto cmd = std::string{promtool} + " check metrics < " + path.string() + " > "
             + report.string() + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream in{report};
  std::stringstream said;
  said << in.rdbuf();
  std::filesystem::remove(path);
  std::filesystem::remove(report);
  ASSERT_NE(status, -1);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << said.str() << "\n" << m.str();
}
