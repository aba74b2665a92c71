// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): what time-metrics(8) serves.
//
//   Exposition out;
//   out.family("timepipe_up", MetricType::gauge, "1 if the status socket answered");
//   out.add("timepipe_up", {{"tool", "ntp-serve"}, {"socket", path}}, 1.0);
//   std::string body = out.text();   // "# HELP timepipe_up ...\n# TYPE timepipe_up gauge\n..."
//
// Families come out in the order declared, each with its samples together in the order added;
// a family without samples is left out. Everything is checked on the way in, so text() is always
// valid: names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and do not
// start with "__", a series (name and label set) appears once. Label values and HELP are escaped
// and any invalid UTF-8 in them becomes U+FFFD (Prometheus rejects a scrape with invalid UTF-8).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libtime/base/error.hpp"

namespace timepipe::observe {

enum class MetricType { gauge, counter };

// Label name and value pairs, written in this order.
using Labels = std::vector<std::pair<std::string, std::string>>;

bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);   // also false for reserved "__..." names

// A label value between the quotes: \ as \\, " as \", newline as \n.
std::string escape_label_value(std::string_view value);
// HELP text: \ as \\, newline as \n (a quote stays as it is).
std::string escape_help(std::string_view text);
// A sample value as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it, which is what the
// Prometheus client libraries serve: the shortest digits that read back to the same double, in
// exponent form when the decimal exponent is below -4 or 6 and up ("1e+06", "1.5e-05",
// "123456", "0.0001"); NaN, +Inf, -Inf; -0 as "0" (client_golang's writeFloat special-cases 0).
std::string format_value(double v);

class Exposition {
public:
    // Declares a family. Fails (EX_SOFTWARE) on a bad name, a redeclaration, or a counter whose
    // name does not end in _total (promtool's lint; the 0.0.4 format has no suffix rule itself).
    Result<void> family(std::string name, MetricType type, std::string help);
    // Adds one sample to a declared family. Fails on an undeclared family, a bad or repeated label
    // name, or a series already added (labels with an empty value count as absent, as in
    // Prometheus). Counters take no negative or NaN values. Nothing is added on failure.
    Result<void> add(std::string_view name, const Labels& labels, double value);
    // Integers are written exactly (a double would round counters above 2^53).
    Result<void> add(std::string_view name, const Labels& labels, std::uint64_t value);

    bool has_family(std::string_view name) const { return index_.count(std::string(name)) != 0; }
    std::size_t samples() const;
    std::string text() const;

private:
    struct Family {
        std::string name;
        MetricType type;
        std::string help;
        std::vector<std::string> lines;   // "name{labels} value"
        std::set<std::string> series;     // canonical label sets seen
    };
    Result<void> add_line(std::string_view name, const Labels& labels, const std::string& value);

    std::vector<Family> families_;
    std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace timepipe::observe
