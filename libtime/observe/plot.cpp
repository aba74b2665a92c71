#include "libtime/observe/plot.hpp"

#include <algorithm>
#include <array>
#include <cinttypes>
#include <climits>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <fnmatch.h>

#include "libtime/stream/records.hpp"

namespace timepipe::observe {

namespace {

bool finite(const PlotPoint& p) { return std::isfinite(p.value) && std::isfinite(p.bar); }

// Seconds since 1970 with all nine decimals, from the integer: "1700000001.010352662".
std::string seconds_text(UnixNanos t) {
    std::int64_t s = t / kNanosPerSecond, ns = t % kNanosPerSecond;
    if (ns < 0) {
        s -= 1;
        ns += kNanosPerSecond;
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%" PRId64 ".%09" PRId64, s, ns);
    return buf;
}

std::string number(double v) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

// 2023-11-14 22:13:20 (UTC), from days since 1970 (H. Hinnant's civil_from_days).
std::string utc_text(UnixNanos t) {
    std::int64_t secs = t / kNanosPerSecond;
    if (t % kNanosPerSecond < 0) secs -= 1;
    std::int64_t days = secs / 86400, sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days -= 1;
    }
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t y = yoe + era * 400;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
    std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04" PRId64 "-%02" PRId64 "-%02" PRId64 " %02" PRId64 ":%02" PRId64 ":%02" PRId64,
                  y, m, d, sod / 3600, sod / 60 % 60, sod % 60);
    return buf;
}

constexpr std::array<const char*, 10> kColours = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                                  "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

constexpr std::size_t kLegendMax = 48;

struct Unit {
    const char* name;
    double scale;
};

// Seconds, milliseconds or microseconds, whichever shows the offsets with the fewest zeros.
Unit offset_unit(const PlotData& d) {
    double m = 0;
    auto see = [&](const std::vector<PlotPoint>& v) {
        for (auto& p : v) m = std::max(m, std::fabs(p.value) + std::fabs(p.bar));
    };
    for (auto& s : d.sources) see(s.offset);
    see(d.system_offset);
    if (m >= 1) return {"s", 1};
    if (m >= 1e-3) return {"ms", 1e3};
    return {"us", 1e6};
}

// A data block: one line per finite point, columns time, value (scaled), bar (scaled).
void data_block(std::string& out, const std::string& name, const std::vector<PlotPoint>& v, double scale,
                bool with_bar) {
    out += name + " << EOD\n";
    for (auto& p : v) {
        double value = p.value * scale, bar = p.bar * scale;
        if (!std::isfinite(value) || !std::isfinite(bar)) continue;
        out += seconds_text(p.time);
        out += ' ';
        out += number(value);
        if (with_bar) {
            out += ' ';
            out += number(bar);
        }
        out += '\n';
    }
    out += "EOD\n";
}

// `v` in time order; when it has more than two points per column of a `columns` wide image,
// only the lowest and the highest of each column's points (in time order), and the first and
// last: the envelope, so a single spike still shows, in a size the plotter and an SVG reader can take.
std::vector<PlotPoint> thin(const std::vector<PlotPoint>& v, UnixNanos lo, UnixNanos hi, std::size_t columns) {
    std::vector<PlotPoint> sorted = v;
    std::stable_sort(sorted.begin(), sorted.end(), [](const PlotPoint& a, const PlotPoint& b) { return a.time < b.time; });
    if (sorted.size() <= 2 * columns || hi <= lo) return sorted;
    std::vector<PlotPoint> out;
    out.reserve(2 * columns);
    // Doubles: hi - lo may not fit an int64; a column's edge a few ns off changes nothing drawn.
    double span = static_cast<double>(hi) - static_cast<double>(lo);
    std::size_t i = 0;
    while (i < sorted.size()) {
        auto column = [&](const PlotPoint& p) {
            double at = (static_cast<double>(p.time) - static_cast<double>(lo)) / span * static_cast<double>(columns);
            return static_cast<std::size_t>(std::clamp(at, 0.0, static_cast<double>(columns - 1)));
        };
        std::size_t c = column(sorted[i]), first = i, low = i, high = i;
        for (; i < sorted.size() && column(sorted[i]) == c; ++i) {
            if (sorted[i].value < sorted[low].value) low = i;
            if (sorted[i].value > sorted[high].value) high = i;
        }
        // The series' first and last points too: its line starts and ends where it does.
        if (first == 0 && std::min(low, high) != 0) out.push_back(sorted[0]);
        out.push_back(sorted[std::min(low, high)]);
        if (low != high) out.push_back(sorted[std::max(low, high)]);
        if (i == sorted.size() && std::max(low, high) != i - 1) out.push_back(sorted[i - 1]);
    }
    return out;
}

bool safe_char(unsigned char c) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    static constexpr std::string_view kSafe = " .:/_-+=,[]()#*~";
    return kSafe.find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string safe_text(std::string_view raw, std::size_t max) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        std::string piece;
        if (safe_char(c)) piece = static_cast<char>(c);
        else piece = {'%', kHex[c >> 4], kHex[c & 15]};
        if (out.size() + piece.size() > max) {
            out += "...";
            break;
        }
        out += piece;
    }
    return out;
}

PlotCollector::PlotCollector(PlotFilter filter) : filter_(std::move(filter)) {}

bool PlotCollector::wanted(UnixNanos t) const {
    return !(filter_.from && t < *filter_.from) && !(filter_.to && t > *filter_.to);
}

void PlotCollector::keep(std::vector<PlotPoint>& into, PlotPoint p) {
    if (!finite(p)) {
        ++data_.skipped;
        return;
    }
    if (data_.points >= filter_.max_points) {
        ++data_.dropped;
        return;
    }
    ++data_.points;
    into.push_back(p);
}

void PlotCollector::add(const Record& record) {
    auto type = record_type(record);
    if (type == Sample::kType) {
        auto s = from_record<Sample>(record);
        if (!s) {
            ++data_.skipped;
            return;
        }
        if (s->kod || !wanted(s->time)) return;  // a Kiss-o'-Death measured nothing
        if (!filter_.sources.empty() &&
            std::none_of(filter_.sources.begin(), filter_.sources.end(),
                         [&](const std::string& pat) { return ::fnmatch(pat.c_str(), s->source.c_str(), 0) == 0; }))
            return;
        auto it = std::find_if(data_.sources.begin(), data_.sources.end(),
                               [&](const PlotTrace& t) { return t.source == s->source; });
        if (it == data_.sources.end()) {
            if (data_.sources.size() >= filter_.max_sources) {
                ++data_.dropped;
                return;
            }
            data_.sources.push_back(PlotTrace{s->source, {}, {}});
            it = data_.sources.end() - 1;
        }
        double bar = std::fabs(s->delay) / 2;
        // A Roughtime answer's radius (its root_dispersion, roughtime/sample.hpp) widens the bar.
        if (s->source.starts_with("roughtime://") && s->root_dispersion) bar += *s->root_dispersion;
        ++data_.samples;
        keep(it->offset, {s->time, s->offset, bar});
        keep(it->poll, {s->time, static_cast<double>(s->poll), 0});
    } else if (type == Tracking::kType) {
        auto t = from_record<Tracking>(record);
        if (!t) {
            ++data_.skipped;
            return;
        }
        if (!wanted(t->time)) return;
        keep(data_.system_offset, {t->time, t->offset, 0});
        keep(data_.tracking_frequency, {t->time, t->frequency, 0});
        if (t->poll) keep(data_.system_poll, {t->time, static_cast<double>(*t->poll), 0});
    } else if (type == Adjust::kType) {
        auto a = from_record<Adjust>(record);
        if (!a) {
            ++data_.skipped;
            return;
        }
        if (!wanted(a->time)) return;
        if (a->frequency) keep(data_.adjust_frequency, {a->time, *a->frequency, 0});
    }
}

bool has_points(const PlotData& d) {
    for (auto& s : d.sources)
        if (!s.offset.empty() || !s.poll.empty()) return true;
    return !d.system_offset.empty() || !d.tracking_frequency.empty() || !d.adjust_frequency.empty() ||
           !d.system_poll.empty();
}

std::string gnuplot_script(const PlotData& d, const PlotStyle& style) {
    std::string out;
    out.reserve(256 + d.points * 40);
    out += "# timeplot: every text below went through safe_text; the data blocks hold numbers only\n";
    out += "reset\n";
    int w = std::clamp(style.width, 200, 10000), h = std::clamp(style.height, 150, 10000);
    out += style.format == PlotFormat::png ? "set terminal pngcairo" : "set terminal svg";
    out += " size " + std::to_string(w) + "," + std::to_string(h) + " noenhanced font 'sans,10' background '#ffffff'\n";

    const auto& freq = d.tracking_frequency.empty() ? d.adjust_frequency : d.tracking_frequency;

    // The shared time axis: the span of every point there is.
    UnixNanos lo = 0, hi = 0;
    bool any = false;
    auto span = [&](const std::vector<PlotPoint>& v) {
        for (auto& p : v) {
            if (!any || p.time < lo) lo = p.time;
            if (!any || p.time > hi) hi = p.time;
            any = true;
        }
    };
    for (auto& s : d.sources) span(s.offset), span(s.poll);
    span(d.system_offset), span(freq), span(d.system_poll);
    // Less than a minute of data (or one point) gets a minute around it. Saturating: the times
    // may be anywhere in the int64 range.
    constexpr UnixNanos kHalfMinute = 30 * kNanosPerSecond;
    UnixNanos x_lo = lo, x_hi = hi;
    // hi >= lo: their unsigned difference is exact where the signed one could overflow.
    if (static_cast<std::uint64_t>(hi) - static_cast<std::uint64_t>(lo) < std::uint64_t{2 * kHalfMinute}) {
        x_lo = lo > INT64_MIN + kHalfMinute ? lo - kHalfMinute : INT64_MIN;
        x_hi = hi < INT64_MAX - kHalfMinute ? hi + kHalfMinute : INT64_MAX;
    }
    double width_s = static_cast<double>(x_hi) / 1e9 - static_cast<double>(x_lo) / 1e9;

    // The data, in time order, each series at most two points per pixel column.
    Unit unit = offset_unit(d);
    auto block = [&](const std::string& name, const std::vector<PlotPoint>& v, double scale, bool bar) {
        data_block(out, name, thin(v, x_lo, x_hi, static_cast<std::size_t>(w)), scale, bar);
    };
    for (std::size_t i = 0; i < d.sources.size(); ++i) {
        block("$s" + std::to_string(i), d.sources[i].offset, unit.scale, true);
        block("$q" + std::to_string(i), d.sources[i].poll, 1, false);
    }
    block("$so", d.system_offset, unit.scale, false);
    block("$fr", freq, 1, false);
    block("$sp", d.system_poll, 1, false);
    const char* xfmt = width_s <= 900 ? "%H:%M:%S" : width_s <= 2 * 86400 ? "%H:%M" : "%m-%d %H:%M";

    std::string title = style.title.empty() ? "" : safe_text(style.title, 120);
    out += "set multiplot title '" + title + "'\n";
    out += "set xrange [" + seconds_text(x_lo) + ":" + seconds_text(x_hi) + "]\n";
    out += std::string("set format x '") + xfmt + "' timedate\n";
    // The legend sits right of the panels; gnuplot leaves out a key wider than its space, so
    // the panels give way to the longest entry (about 7 pixels a character at 10 points).
    std::size_t longest = 21;  // "discipline (tracking)"
    for (auto& s : d.sources) longest = std::max(longest, safe_text(s.source, kLegendMax).size());
    double right = std::clamp(1.0 - (7.0 * static_cast<double>(longest) + 110) / w, 0.45, 0.85);
    out += "set grid\nset lmargin at screen 0.08\nset rmargin at screen " + number(right) + "\n";
    out += "set key at screen " + number(right + 0.01) + ",0.94 left top noautotitle\n";

    // Offset.
    out += "set tmargin at screen 0.94\nset bmargin at screen 0.67\n";
    out += std::string("set ylabel 'offset (") + unit.name + "), bars: delay/2'\n";
    std::string plots;
    auto add_plot = [&](const std::string& p) { plots += (plots.empty() ? "plot " : ", ") + p; };
    for (std::size_t i = 0; i < d.sources.size(); ++i)
        if (!d.sources[i].offset.empty())
            add_plot("$s" + std::to_string(i) + " using 1:2:3 with yerrorlines lc rgb '" +
                     kColours[i % kColours.size()] + "' pt 7 ps 0.4 lw 1 title '" +
                     safe_text(d.sources[i].source, kLegendMax) + "'");
    if (!d.system_offset.empty())
        add_plot("$so using 1:2 with lines lc rgb '#000000' lw 1.5 title 'discipline (tracking)'");
    auto empty_panel = [&](const char* why) {
        out += std::string("set label 1 '") + why + "' at graph 0.5,0.5 center\n";
        out += "set yrange [-1:1]\nplot NaN notitle\nunset label 1\nset autoscale y\n";
    };
    if (plots.empty()) empty_panel("no samples");
    else out += plots + "\n";
    plots.clear();
    out += "unset key\n";

    // Frequency.
    out += "set tmargin at screen 0.63\nset bmargin at screen 0.38\n";
    out += std::string("set ylabel 'frequency (ppm)") + (d.tracking_frequency.empty() && !d.adjust_frequency.empty() ? ", adjust" : "") + "'\n";
    if (freq.empty()) empty_panel("no tracking or adjust records");
    else out += "plot $fr using 1:2 with steps lc rgb '#000000' lw 1.5 notitle\n";

    // Poll.
    out += "set tmargin at screen 0.34\nset bmargin at screen 0.09\n";
    out += "set ylabel 'poll (log2 s)'\n";
    // Poll intervals are whole powers of two: one tic per step while that stays readable.
    double pmin = 0, pmax = 0;
    bool pany = false;
    auto prange = [&](const std::vector<PlotPoint>& v) {
        for (auto& p : v) {
            if (!pany || p.value < pmin) pmin = p.value;
            if (!pany || p.value > pmax) pmax = p.value;
            pany = true;
        }
    };
    for (auto& s : d.sources) prange(s.poll);
    prange(d.system_poll);
    if (pany && pmax - pmin <= 16)
        out += "set ytics 1\nset yrange [" + number(pmin - 0.5) + ":" + number(pmax + 0.5) + "]\n";
    out += "set xlabel 'UTC, from " + utc_text(lo) + "'\n";
    for (std::size_t i = 0; i < d.sources.size(); ++i)
        if (!d.sources[i].poll.empty())
            add_plot("$q" + std::to_string(i) + " using 1:2 with steps lc rgb '" + kColours[i % kColours.size()] +
                     "' lw 1.5 notitle");
    if (!d.system_poll.empty()) add_plot("$sp using 1:2 with steps lc rgb '#000000' dt 2 lw 1 notitle");
    if (plots.empty()) empty_panel("no poll intervals");
    else out += plots + "\n";
    out += "unset multiplot\n";
    return out;
}

}  // namespace timepipe::observe

namespace timepipe::observe {

namespace {

// Digits only, at most 18 of them, as a number; nullopt otherwise.
std::optional<std::int64_t> digits(std::string_view s) {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, std::int64_t m, std::int64_t d) {
    y -= m <= 2;
    std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    std::int64_t yoe = y - era * 400;
    std::int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

}  // namespace

std::optional<UnixNanos> parse_plot_time(std::string_view t) {
    if (auto secs = digits(t)) {
        if (*secs > INT64_MAX / kNanosPerSecond) return std::nullopt;
        return *secs * kNanosPerSecond;
    }
    // YYYY-MM-DD?hh:mm:ss[.f][Z]
    if (t.size() < 19 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ') || t[13] != ':' ||
        t[16] != ':')
        return std::nullopt;
    auto y = digits(t.substr(0, 4)), mo = digits(t.substr(5, 2)), d = digits(t.substr(8, 2));
    auto h = digits(t.substr(11, 2)), mi = digits(t.substr(14, 2)), s = digits(t.substr(17, 2));
    if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 ||
        *s > 60)
        return std::nullopt;
    static constexpr int kMonthDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap_year = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
    if (*d > kMonthDays[*mo - 1] || (*mo == 2 && *d == 29 && !leap_year)) return std::nullopt;
    std::string_view rest = t.substr(19);
    std::int64_t frac = 0;
    if (!rest.empty() && rest[0] == '.') {
        std::size_t n = 1;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        if (n == 1 || n > 10) return std::nullopt;
        auto f = digits(rest.substr(1, n - 1));
        frac = *f;
        for (std::size_t i = n - 1; i < 9; ++i) frac *= 10;
        rest.remove_prefix(n);
    }
    if (rest == "Z") rest = {};
    if (!rest.empty()) return std::nullopt;
    std::int64_t secs = days_from_civil(*y, *mo, *d) * 86400 + *h * 3600 + *mi * 60 + *s;
    if (secs >= INT64_MAX / kNanosPerSecond || secs <= INT64_MIN / kNanosPerSecond) return std::nullopt;  // past 2262
    return secs * kNanosPerSecond + frac;
}

}  // namespace timepipe::observe

namespace timepipe::observe {

namespace {

bool is_number_line(std::string_view line) {
    if (line.empty()) return false;
    for (char c : line)
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' || c == ' '))
            return false;
    return true;
}

bool word_char(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'; }

}  // namespace

std::optional<std::string> script_problem(std::string_view script) {
    // Commands that reach outside gnuplot (files, processes) or run other text as commands.
    static constexpr std::string_view kForbidden[] = {"system", "shell", "load", "call",  "output",   "print",
                                                      "save",   "cd",    "pause", "import", "evaluate", "eval",
                                                      "fit",    "exit",  "quit",  "history", "test",  "toggle"};
    std::size_t line_no = 0;
    bool in_block = false;
    std::size_t pos = 0;
    while (pos < script.size()) {
        auto nl = script.find('\n', pos);
        if (nl == std::string_view::npos) return "line " + std::to_string(line_no + 1) + ": no newline at the end";
        std::string_view line = script.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        auto where = "line " + std::to_string(line_no) + ": ";
        for (char c : line)
            if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
                return where + "a byte that is not printable ASCII";
        if (in_block) {
            if (line == "EOD") in_block = false;
            else if (!is_number_line(line)) return where + "data block line that is not numbers";
            continue;
        }
        if (line.starts_with("#")) continue;
        bool quoted = false;
        for (std::size_t i = 0; i < line.size(); ++i) {
            char c = line[i];
            if (quoted) {
                if (c == '\'') quoted = false;
                else if (!safe_char(static_cast<unsigned char>(c)) && c != '%') return where + "unsafe character in quotes";
                continue;
            }
            if (c == '\'') {
                quoted = true;
                continue;
            }
            if (c == '"' || c == '`' || c == '!' || c == '@' || c == '|' || c == '\\' || c == ';' ||
                (c == '<' && !line.ends_with(" << EOD")))
                return where + "unsafe character outside quotes";
            if (c == '$') {
                if (i + 1 >= line.size() || !(line[i + 1] >= 'a' && line[i + 1] <= 'z'))
                    return where + "'$' that does not name a data block";
                continue;
            }
            if (word_char(c) && (i == 0 || !word_char(line[i - 1]))) {
                std::size_t j = i;
                while (j < line.size() && word_char(line[j])) ++j;
                auto word = line.substr(i, j - i);
                for (auto f : kForbidden)
                    if (word == f) return where + "forbidden command \"" + std::string(f) + "\"";
            }
        }
        if (quoted) return where + "unbalanced quote";
        if (line.ends_with(" << EOD")) {
            auto name = line.substr(0, line.size() - 7);
            if (name.size() < 2 || name[0] != '$') return where + "data block without a $name";
            for (char c : name.substr(1))
                if (!word_char(c)) return where + "bad data block name";
            in_block = true;
        }
    }
    if (in_block) return "data block not closed";
    return std::nullopt;
}

}  // namespace timepipe::observe
