#include "libtime/stream/sample_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <string_view>

#include "libtime/stream/json_lines.hpp"

namespace timepipe {
namespace {

constexpr int kRemoteWidth = 22;

[[gnu::format(printf, 1, 2)]] std::string printf_string(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    return std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// ntpq's interval form (prettyinterval), never wider than 4 characters: seconds up to 2048,
// then minutes up to 300, hours up to 96, days up to 999, years up to 999, then "INF".
std::string interval(std::int64_t s) {
    if (s < 0) return "-";
    if (s <= 2048) return std::to_string(s);
    s = (s + 29) / 60;
    if (s <= 300) return std::to_string(s) + "m";
    s = (s + 29) / 60;
    if (s <= 96) return std::to_string(s) + "h";
    s = (s + 11) / 24;
    if (s <= 999) return std::to_string(s) + "d";
    s = (s * 100 + 36525 / 2) / 36525;  // years of 365.25 days, rounded
    if (s <= 999) return std::to_string(s) + "y";
    return "INF";
}

std::string poll_interval(int poll) {
    if (poll < 0) {  // sub-second polling (chrony allows down to 2^-7 s)
        std::string s = printf_string("%.3f", std::ldexp(1.0, poll));
        while (s.back() == '0') s.pop_back();
        return s;
    }
    if (poll > 62) return "-";
    return interval(std::int64_t{1} << poll);
}

std::string millis(std::optional<double> seconds) {
    if (!seconds) return "-";
    return printf_string("%.3f", *seconds * 1e3);
}

std::string remote_of(const std::string& source) {
    constexpr std::string_view kScheme = "ntp://";
    if (source.starts_with(kScheme)) return source.substr(kScheme.size());
    return source;
}

std::string refid_of(const Sample& s) {
    // Stratum 0/1 (and 16, unsynchronised) refids are ASCII codes of up to four characters, which
    // ntpq shows dotted; one that is not printable comes as an address ("127.127.1.1"), shown bare.
    if (s.refid.empty()) return "-";
    if ((s.stratum <= 1 || s.stratum == 16) && s.refid.size() <= 4) return "." + s.refid + ".";
    return s.refid;
}

}  // namespace

std::string sample_table_header() {
    return printf_string(" %-*s %-15s %2s %4s %4s %5s %8s %8s %7s\n", kRemoteWidth, "     remote",
                         "     refid", "st", "when", "poll", "reach", "delay", "offset", "jitter") +
           std::string(1 + kRemoteWidth + 1 + 15 + 1 + 2 + 1 + 4 + 1 + 4 + 1 + 5 + 1 + 8 + 1 + 8 + 1 + 7, '=') +
           "\n";
}

std::string sample_table_row(const Sample& s, UnixNanos now, char tally) {
    std::string out;
    std::string remote = remote_of(s.source);
    if (remote.size() > static_cast<std::size_t>(kRemoteWidth)) {
        out = tally + remote + "\n";  // the tally goes with the name, as in ntpq -pw
        remote.clear();
        tally = ' ';
    }
    // Floor division: a sample 0.5 s in the future is "-", not "0".
    std::int64_t age = now - s.time;
    std::int64_t when = age >= 0 ? age / kNanosPerSecond : -1;
    std::string reach = s.reach ? printf_string("%o", static_cast<unsigned>(*s.reach)) : "-";
    std::string refid = refid_of(s);
    out += printf_string("%c%-*s %-15s %2d %4s %4s %5s %8s %8s %7s\n", tally, kRemoteWidth, remote.c_str(),
                         refid.c_str(), s.stratum, interval(when).c_str(), poll_interval(s.poll).c_str(),
                         reach.c_str(), millis(s.delay).c_str(), millis(s.offset).c_str(),
                         millis(s.jitter).c_str());
    return out;
}

std::string generic_line(const Record& record) {
    std::string_view type = record_type(record);
    std::string line = type.empty() ? std::string("record") : std::string(type);
    if (record.is_object()) {
        for (const auto& item : record.items()) {
            if (item.key() == "v" || item.key() == "type") continue;
            line += ' ';
            line += item.key();
            line += '=';
            const Record& v = item.value();
            if (v.is_string() && !v.get_ref<const std::string&>().empty() &&
                v.get_ref<const std::string&>().find_first_of(" \t\n\"") == std::string::npos) {
                line += v.get_ref<const std::string&>();
            } else {
                std::string json = to_json_line(v);
                json.pop_back();  // its '\n'
                line += json;
            }
        }
    }
    line += '\n';
    return line;
}

std::string text_line(const Record& record, UnixNanos now, bool& header_done) {
    if (record_type(record) == Sample::kType) {
        if (auto s = from_record<Sample>(record)) {
            std::string out;
            if (!header_done) out = sample_table_header();
            header_done = true;
            return out + sample_table_row(*s, now);
        }
    }
    return generic_line(record);
}

std::string text_view(std::span<const Record> records, UnixNanos now) {
    std::string out;
    bool header_done = false;
    for (const auto& r : records) out += text_line(r, now, header_done);
    return out;
}

}  // namespace timepipe
