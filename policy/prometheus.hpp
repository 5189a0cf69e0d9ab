#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gatehouse::policy {

/// The labels of one sample, as (name, value) pairs in output order.
using labels = std::vector<std::pair<std::string, std::string>>;

/// The observations of one histogram series.
struct histogram_data {
  /// Upper bounds of the buckets, finite and strictly ascending, without
  /// the final +Inf.
  std::vector<double> bounds;
  /// Observations per bucket, not cumulative: `bounds.size() + 1` entries,
  /// the last one for the +Inf bucket.
  std::vector<std::uint64_t> counts;
  /// The sum of all observed values.
  double sum = 0;
  /// The number of observations; equals the sum of `counts`.
  std::uint64_t count = 0;
};

/// Builds a Prometheus text exposition (format 0.0.4): each metric family
/// is written with its `# HELP` and `# TYPE` lines followed by its samples,
/// in the order of the calls. Every call validates names and throws
/// std::invalid_argument on a malformed or reused metric name, a malformed,
/// reserved or repeated label name, or inconsistent histogram data, before
/// writing anything. Label values and help text are escaped; they should be
/// UTF-8.
class metrics_text {
public:
  /// Adds a counter family. `name` must end in "_total" and is used as
  /// given.
  void counter(std::string_view name, std::string_view help,
               const std::vector<std::pair<labels, double>>& samples);

  /// Adds a gauge family.
  void gauge(std::string_view name, std::string_view help,
             const std::vector<std::pair<labels, double>>& samples);

  /// Adds a histogram family: for each series, its cumulative
  /// `<name>_bucket{le="..."}` samples up to `le="+Inf"`, then `<name>_sum`
  /// and `<name>_count`. The label `le` is reserved.
  void histogram(std::string_view name, std::string_view help,
                 const std::vector<std::pair<labels, histogram_data>>& series);

  /// Returns the exposition built so far.
  std::string str() const {
    return out_;
  }

private:
  void simple(std::string_view name, std::string_view help,
              std::string_view type,
              const std::vector<std::pair<labels, double>>& samples);
  void claim(const std::vector<std::string>& names);
  void header(std::string_view name, std::string_view help,
              std::string_view type);

  std::string out_;
  std::set<std::string, std::less<>> names_;
};

/// The default bounds, in seconds, of request latency histograms: 5 ms to
/// 5 minutes.
const std::vector<double>& latency_buckets_seconds();

/// Returns the bucket of `value` for the ascending upper `bounds`: the
/// index of the first bound >= `value`, or `bounds.size()` (the +Inf
/// bucket) when there is none or `value` is NaN.
std::size_t bucket_index(const std::vector<double>& bounds, double value);

/// Whether `name` is a valid metric name: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_metric_name(std::string_view name);

/// Whether `name` is a valid label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool is_label_name(std::string_view name);

/// Formats a sample value: integers without exponent or fraction, other
/// finite values in the shortest form that reads back exactly, and "NaN",
/// "+Inf" or "-Inf".
std::string format_value(double v);

} // namespace gatehouse::policy
