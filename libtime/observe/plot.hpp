// timeplot's pure half: time-stream(5) records to series, series to a gnuplot script with the
// data inline. Three stacked panels share the time axis: offset (one trace per source, error
// bars of delay/2, plus the Roughtime radius for roughtime:// sources, and the discipline's
// own offset), frequency (ppm: tracking records, else adjust records) and poll (log2 s, per
// source, and the discipline's).
//
//   PlotCollector c({.from = t0});
//   for (auto& r : records) c.add(r);
//   std::string script = gnuplot_script(c.data(), {.format = PlotFormat::svg});
//
// SAFETY: source names and --title are untrusted and end up inside a script gnuplot runs, and
// gnuplot can run commands (system(), backquotes, `!`, `set output "|..."`). No text from the
// input reaches the script raw: safe_text keeps a short list of harmless characters and writes
// every other byte as %hh, inside single quotes; the data blocks hold only finite numbers the
// script formats itself; series are named $s0, $s1, ... never after a source.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/unix_time.hpp"
#include "libtime/stream/codec.hpp"

namespace timepipe::observe {

struct PlotPoint {
    UnixNanos time = 0;
    double value = 0;
    double bar = 0;   // the error bar's half-height (offsets), else 0
};

// One source's samples.
struct PlotTrace {
    std::string source;               // as the stream names it: untrusted text
    std::vector<PlotPoint> offset;    // s; bar = delay/2 (+ radius for roughtime://)
    std::vector<PlotPoint> poll;      // log2 s
};

struct PlotData {
    std::vector<PlotTrace> sources;          // in order of first appearance
    std::vector<PlotPoint> system_offset;    // s, tracking records' offset
    std::vector<PlotPoint> tracking_frequency;  // ppm
    std::vector<PlotPoint> adjust_frequency;    // ppm, adjust records that set one
    std::vector<PlotPoint> system_poll;      // log2 s, tracking records' poll
    std::size_t points = 0;                  // all points kept
    std::size_t samples = 0;                 // sample records kept
    std::size_t skipped = 0;                 // records of a known type that could not be used
    std::size_t dropped = 0;                 // beyond the limits (sources, points)
};

struct PlotFilter {
    std::optional<UnixNanos> from;           // records before are left out
    std::optional<UnixNanos> to;             // records after are left out
    std::vector<std::string> sources;        // fnmatch(3) patterns for samples; empty: all
    std::size_t max_sources = 32;            // samples of further sources are dropped
    std::size_t max_points = 2'000'000;      // bounds memory and gnuplot's work on any input
};

class PlotCollector {
public:
    explicit PlotCollector(PlotFilter filter = {});
    // Takes what the plot shows from `record` (sample, tracking, adjust); other types are
    // ignored; a sample, tracking or adjust record that does not pass from_record is skipped.
    void add(const Record& record);
    const PlotData& data() const { return data_; }

private:
    bool wanted(UnixNanos t) const;
    void keep(std::vector<PlotPoint>& into, PlotPoint p);
    PlotFilter filter_;
    PlotData data_;
};

enum class PlotFormat { png, svg };

struct PlotStyle {
    PlotFormat format = PlotFormat::png;
    int width = 1200;        // pixels (png) or points (svg), 200-10000
    int height = 900;
    std::string title;       // untrusted: escaped as source names are
};

// The text a legend or title shows for `raw`: A-Z a-z 0-9 and  . : / _ - + = , [ ] ( ) # * ~
// and space as they are, every other byte as %hh (lowercase hex, as in URIs); at most `max` characters,
// then "...". What it returns is safe between single quotes in a gnuplot script.
std::string safe_text(std::string_view raw, std::size_t max = 64);

// Whether the data has anything to plot (some point in some panel).
bool has_points(const PlotData& data);

// A complete gnuplot script: terminal (pngcairo or svg, `noenhanced`), data blocks, three
// panels; legend entries are safe_text(source, 48). The image goes to gnuplot's standard output (no `set output`).
std::string gnuplot_script(const PlotData& data, const PlotStyle& style);

}  // namespace timepipe::observe

namespace timepipe::observe {

// --from/--to: "2023-11-14T22:13:20Z" (RFC 3339 in UTC: 'T' or a space, an optional fraction,
// "Z" optional) or whole seconds since 1970 ("1700000000"). nullopt for anything else.
std::optional<UnixNanos> parse_plot_time(std::string_view text);

// The rules every script gnuplot_script writes obeys, checked independently of how it was
// written (the tests and fuzz_plot check them; timeplot checks them before running gnuplot):
// printable ASCII lines; data blocks ($name << EOD ... EOD) of numbers only; outside them no
// " ` ! @ | \ ; or stray < or $, no word that reaches outside gnuplot (system, shell, load,
// call, output, print, save, cd, ...), and single-quoted strings holding only safe_text's
// characters (and % for time formats). The first broken rule ("line 7: ..."), or nullopt.
std::optional<std::string> script_problem(std::string_view script);

}  // namespace timepipe::observe
