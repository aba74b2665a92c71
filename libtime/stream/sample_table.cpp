#include "libtime/stream/sample_table.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string_view>
#include <utility>

#include "libtime/stream/json_lines.hpp"

namespace timepipe {
namespace {

[[gnu::format(printf, 1, 2)]] std::string printf_string(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return {};
    return std::string(buf, std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
}

// ---- escaping --------------------------------------------------------------------------------

// The code point of the valid UTF-8 sequence at the start of `s` and its length, or length 0.
// Overlong forms, surrogates and values past U+10FFFF are not UTF-8 (RFC 3629).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char lead = b(0);
    std::size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if (lead < 0x80) return {lead, 1};
    if (lead >= 0xc2 && lead <= 0xdf) len = 2, cp = lead & 0x1f, min = 0x80;
    else if (lead >= 0xe0 && lead <= 0xef) len = 3, cp = lead & 0x0f, min = 0x800;
    else if (lead >= 0xf0 && lead <= 0xf4) len = 4, cp = lead & 0x07, min = 0x10000;
    else return {0, 0};
    if (s.size() < len) return {0, 0};
    for (std::size_t i = 1; i < len; ++i) {
        if ((b(i) & 0xc0) != 0x80) return {0, 0};
        cp = (cp << 6) | (b(i) & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return {0, 0};
    return {cp, len};
}

// Code points a terminal acts on or that reorder or break what is shown around them.
bool shown_escaped(char32_t cp) {
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
           (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

std::string escape(std::string_view s, bool backslash) {
    std::string out;
    out.reserve(s.size());
    while (!s.empty()) {
        auto [cp, len] = decode_utf8(s);
        if (len == 0) {
            out += printf_string("\\x%02x", static_cast<unsigned char>(s[0]));
            len = 1;
        } else if (cp == '\\' && backslash) {
            out += "\\\\";
        } else if (cp < 0x20 || cp == 0x7f) {
            out += printf_string("\\x%02x", static_cast<unsigned>(cp));
        } else if (shown_escaped(cp)) {
            out += printf_string("\\u%04x", static_cast<unsigned>(cp));
        } else {
            out.append(s.substr(0, len));
        }
        s.remove_prefix(len);
    }
    return out;
}

// How many columns `s` (valid UTF-8, as escape_text returns) takes: one per code point.
std::size_t columns(std::string_view s) {
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

// ---- durations -------------------------------------------------------------------------------

// One way to show a magnitude: divide by `seconds`, print with `decimals`, accept while the
// number has at most `max_chars` characters.
struct Unit {
    double seconds;
    int decimals;
    std::size_t max_chars;
    const char* suffix;
};

constexpr double kYear = 365.25 * 86400;
constexpr std::array<Unit, 9> kUnits = {{
    {1e-9, 0, 4, "ns"},
    {1e-6, 0, 4, "us"},
    {1e-3, 0, 4, "ms"},
    {1, 1, 5, "s"},  // 10.0s to 999.9s
    {1, 0, 5, "s"},  // to 99999s, 27.8 hours
    {3600, 0, 3, "h"},
    {86400, 0, 3, "d"},
    {kYear, 1, 4, "y"},  // 2.7y to 99.9y
    {kYear, 0, 5, "y"},
}};

std::string duration(double seconds, bool plus) {
    if (std::isnan(seconds)) return "?";
    if (std::isinf(seconds)) return seconds < 0 ? "-INF" : plus ? "+INF" : "INF";
    const double a = std::fabs(seconds);
    for (const Unit& u : kUnits) {
        // Printed, not compared, so that rounding can never add a digit.
        std::string digits = printf_string("%.*f", u.decimals, a / u.seconds);
        if (digits.size() > u.max_chars || digits[0] < '0' || digits[0] > '9') continue;  // too long, "inf"
        if (digits.find_first_not_of("0.") == std::string::npos) return "0" + std::string(u.suffix);
        const char* sign = seconds < 0 ? "-" : plus ? "+" : "";
        return sign + digits + u.suffix;
    }
    return seconds < 0 ? "-INF" : plus ? "+INF" : "INF";
}

std::string duration_or_dash(std::optional<double> seconds) {
    return seconds ? format_duration(*seconds) : "-";
}

// ---- columns ---------------------------------------------------------------------------------

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

// 2^poll seconds in 4 characters: as `interval` from 1 s, "1/2" to "1/64" below (chrony polls
// down to 2^-6 s), then "2^-7" to "2^-9", then "0".
std::string poll_interval(int poll) {
    if (poll > 62) return "-";
    if (poll >= 0) return interval(std::int64_t{1} << poll);
    if (poll >= -6) return "1/" + std::to_string(1 << -poll);
    if (poll >= -9) return "2^" + std::to_string(poll);
    return "0";
}

// Floor division: a sample 0.5 s in the future is "-", not "0".
std::string when(UnixNanos time, UnixNanos now) {
    // now - time in unsigned arithmetic: any two int64 give the right answer, no overflow.
    if (now < time) return "-";
    const auto age = static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(time);
    return interval(static_cast<std::int64_t>(age / kNanosPerSecond));
}

bool is_roughtime(const Sample& s) { return s.source.starts_with("roughtime://"); }

// The source without its scheme, and for NTP without the default port (as ntpq and chronyc
// show it): "127.0.0.1", "[::1]:1123" -> "[::1]:1123", "[::1]:123" -> "::1".
std::string remote_of(const Sample& s) {
    std::string_view r = s.source;
    if (r.starts_with("ntp://")) {
        r.remove_prefix(6);
        if (r.ends_with(":123")) {
            r.remove_suffix(4);
            if (r.starts_with('[') && r.ends_with(']')) r = r.substr(1, r.size() - 2);
        }
    } else if (r.starts_with("roughtime://")) {
        r.remove_prefix(12);
    }
    return escape_text(r);
}

std::string refid_of(const Sample& s) {
    // Stratum 0/1 (and 16, unsynchronised) refids are ASCII codes of up to four characters, which
    // ntpq shows dotted; one that is not printable comes as an address ("127.127.1.1"), shown bare.
    if (s.refid.empty()) return "-";
    if ((s.stratum <= 1 || s.stratum == 16) && s.refid.size() <= 4) return "." + escape_text(s.refid) + ".";
    return escape_text(s.refid);
}

// A line of columns: text put at a column, or right after what is there with one space when
// that is past it; so one wide value pushes the rest right only until a column has room.
class Line {
public:
    void at(std::size_t col, std::string_view text) {
        if (cols_ > 0 && col < cols_ + 1) col = cols_ + 1;
        s_.append(col - cols_, ' ');
        s_ += text;
        cols_ = col + columns(text);
    }
    void right(std::size_t end, std::string_view text) { at(end - std::min(end, columns(text)), text); }
    std::string str() const { return s_ + "\n"; }

private:
    std::string s_;
    std::size_t cols_ = 0;
};

// The NTP table: where each column starts (left-aligned) or ends (right-aligned).
constexpr std::size_t kRemoteWidth = 15;
constexpr std::size_t kRefid = 17, kStratumEnd = 34, kWhenEnd = 39, kPollEnd = 44, kReachEnd = 50,
                      kDelayEnd = 57, kOffsetEnd = 65, kErrorEnd = 72, kJitterEnd = 79;

// The Roughtime table.
constexpr std::size_t kRtRemoteWidth = 26;
constexpr std::size_t kRtVersion = 28, kRtVerified = 37, kRtWhenEnd = 50, kRtRttEnd = 57, kRtOffsetEnd = 65,
                      kRtErrorEnd = 72, kRtRadiusEnd = 79;

// "tally remote" in `width` columns, or on a line of its own when the remote is longer (the
// tally goes with the name, as in ntpq -pw).
std::string start_row(const Sample& s, char tally, std::size_t width, Line& line) {
    std::string out;
    std::string remote = remote_of(s);
    if (columns(remote) > width) {
        out = tally + remote + "\n";
        remote.clear();
        tally = ' ';
    }
    line.at(0, std::string(1, tally) + remote);
    return out;
}

std::string rule() { return std::string(kTableWidth, '=') + "\n"; }

// ---- generic values --------------------------------------------------------------------------

std::string quote_text(std::string_view s) {
    std::string out = "\"";
    for (char c : escape_text(s)) {
        if (c == '"') out += '\\';
        out += c;
    }
    return out + "\"";
}

// Compact JSON, its strings through escape_text.
std::string json_value(const Record& v) {
    if (v.is_string()) return quote_text(v.get_ref<const std::string&>());
    if (v.is_array()) {
        std::string out = "[";
        for (const auto& e : v) out += (out.size() > 1 ? "," : "") + json_value(e);
        return out + "]";
    }
    if (v.is_object()) {
        std::string out = "{";
        for (const auto& item : v.items())
            out += (out.size() > 1 ? "," : "") + quote_text(item.key()) + ":" + json_value(item.value());
        return out + "}";
    }
    std::string json = to_json_line(v);  // numbers, true, false, null; byte strings as base64url
    json.pop_back();                     // its '\n'
    return json;
}

// A value of key=value: text without spaces, quotes or anything escaped stays bare.
std::string shown_value(const Record& v) {
    if (v.is_string()) {
        const auto& s = v.get_ref<const std::string&>();
        if (!s.empty() && s.find_first_of(" \"\\") == std::string::npos && escape_text(s) == s) return s;
    }
    return json_value(v);
}

std::string shown_key(std::string_view key) {
    if (key.empty() || key.find_first_of(" =\"\\") != std::string_view::npos || escape_text(key) != key)
        return quote_text(key);
    return std::string(key);
}

// The keys of a sample (man/time-stream.5), and those the Roughtime table shows besides.
constexpr std::array<std::string_view, 20> kSampleKeys = {
    "v",      "type",  "source",     "time",       "offset",          "delay",  "dispersion",
    "stratum", "leap", "refid",      "poll",       "root_delay",      "root_dispersion",
    "jitter", "reach", "precision",  "version",    "interleaved",     "kod",    "auth",
};
constexpr std::array<std::string_view, 2> kRoughtimeKeys = {"roughtime_version", "verified"};

// " key=value" for each key of `record` a row of `kind` shows no column for, or "".
std::string extra_keys(const Record& record, TableKind kind) {
    std::string out;
    for (const auto& item : record.items()) {
        const auto known = [&](const auto& keys) { return std::find(keys.begin(), keys.end(), item.key()) != keys.end(); };
        if (known(kSampleKeys) || (kind == TableKind::roughtime && known(kRoughtimeKeys))) continue;
        out += ' ' + shown_key(item.key()) + '=' + shown_value(item.value());
    }
    return out;
}

}  // namespace

std::string escape_text(std::string_view s) { return escape(s, true); }
std::string escape_controls(std::string_view s) { return escape(s, false); }

std::string format_duration(double seconds) { return duration(seconds, false); }
std::string format_signed_duration(double seconds) { return duration(seconds, true); }

double sample_error(const Sample& s) {
    const double delay = std::max(0.0, s.delay);
    // Roughtime: the radius is the root dispersion (older streams: the dispersion too).
    if (is_roughtime(s)) return delay / 2 + s.root_dispersion.value_or(s.dispersion);
    return (delay + s.root_delay.value_or(0.0)) / 2 + s.dispersion + s.root_dispersion.value_or(0.0);
}

std::string sample_table_header() {
    Line l;
    l.at(5, "remote");
    l.at(kRefid + 4, "refid");
    l.right(kStratumEnd, "st");
    l.right(kWhenEnd, "when");
    l.right(kPollEnd, "poll");
    l.right(kReachEnd, "reach");
    l.right(kDelayEnd, "delay");
    l.right(kOffsetEnd, "offset");
    l.right(kErrorEnd, "+/-");
    l.right(kJitterEnd, "jitter");
    return l.str() + rule();
}

std::string sample_table_row(const Sample& s, UnixNanos now, char tally) {
    Line l;
    std::string out = start_row(s, tally, kRemoteWidth, l);
    l.at(kRefid, refid_of(s));
    l.right(kStratumEnd, std::to_string(s.stratum));
    l.right(kWhenEnd, when(s.time, now));
    l.right(kPollEnd, poll_interval(s.poll));
    l.right(kReachEnd, s.reach ? printf_string("%o", static_cast<unsigned>(*s.reach)) : "-");
    l.right(kDelayEnd, format_duration(s.delay));
    l.right(kOffsetEnd, format_signed_duration(s.offset));
    l.right(kErrorEnd, format_duration(sample_error(s)));
    l.right(kJitterEnd, duration_or_dash(s.jitter));
    return out + l.str();
}

std::string roughtime_table_header() {
    Line l;
    l.at(10, "server");
    l.at(kRtVersion, "version");
    l.at(kRtVerified, "verified");
    l.right(kRtWhenEnd, "when");
    l.right(kRtRttEnd, "rtt");
    l.right(kRtOffsetEnd, "offset");
    l.right(kRtErrorEnd, "+/-");
    l.right(kRtRadiusEnd, "radius");
    return l.str() + rule();
}

std::string roughtime_table_row(const Sample& s, const Record& record, UnixNanos now) {
    Line l;
    std::string out = start_row(s, ' ', kRtRemoteWidth, l);
    std::string version = "-";
    if (auto it = record.find("roughtime_version"); it != record.end())
        version = it->is_string() ? escape_text(it->get_ref<const std::string&>()) : json_value(*it);
    std::string verified = "-";
    if (auto it = record.find("verified"); it != record.end())
        verified = it->is_boolean() ? (it->get<bool>() ? "yes" : "no") : json_value(*it);
    l.at(kRtVersion, version);
    l.at(kRtVerified, verified);
    l.right(kRtWhenEnd, when(s.time, now));
    l.right(kRtRttEnd, format_duration(s.delay));
    l.right(kRtOffsetEnd, format_signed_duration(s.offset));
    l.right(kRtErrorEnd, format_duration(sample_error(s)));
    l.right(kRtRadiusEnd, format_duration(s.root_dispersion.value_or(s.dispersion)));
    return out + l.str();
}

std::string generic_line(const Record& record) {
    std::string_view type = record_type(record);
    std::string line = type.empty() ? std::string("record") : escape_text(type);
    if (record.is_object()) {
        for (const auto& item : record.items())
            if (item.key() != "v" && item.key() != "type")
                line += ' ' + shown_key(item.key()) + '=' + shown_value(item.value());
    }
    return line + "\n";
}

std::string text_line(const Record& record, UnixNanos now, TableKind& shown) {
    if (record_type(record) != Sample::kType) return generic_line(record);
    auto s = from_record<Sample>(record);
    if (!s) return generic_line(record);
    const TableKind kind = is_roughtime(*s) ? TableKind::roughtime : TableKind::ntp;
    std::string out;
    if (shown != kind) out = kind == TableKind::ntp ? sample_table_header() : roughtime_table_header();
    shown = kind;
    out += kind == TableKind::ntp ? sample_table_row(*s, now) : roughtime_table_row(*s, record, now);
    if (std::string extra = extra_keys(record, kind); !extra.empty()) out += "   " + extra + "\n";
    return out;
}

std::string text_view(std::span<const Record> records, UnixNanos now) {
    std::string out;
    TableKind shown = TableKind::none;
    for (const auto& r : records) out += text_line(r, now, shown);
    return out;
}

}  // namespace timepipe
