#include "libtime/refclock/nmea.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <vector>

namespace timepipe::refclock {

void SentenceSplitter::feed(std::span<const std::byte> chunk, UnixNanos read_time, const Sink& sink) {
    for (std::byte b : chunk) {
        char c = static_cast<char>(b);
        if (c == '$') {
            if (state_ == State::inside) ++truncated_;
            state_ = State::inside;
            line_.assign(1, c);
            started_ = read_time;
            continue;
        }
        switch (state_) {
        case State::outside:
            if (c != '\r' && c != '\n') ++garbage_;
            break;
        case State::overlong:
            if (c == '\r' || c == '\n') state_ = State::outside;
            break;
        case State::inside:
            if (c == '\r' || c == '\n') {
                state_ = State::outside;
                sink(line_, started_);
            } else if (line_.size() >= kMaxSentence) {
                ++too_long_;
                state_ = State::overlong;
            } else {
                line_.push_back(c);
            }
            break;
        }
    }
}

std::uint8_t nmea_checksum(std::string_view body) {
    std::uint8_t x = 0;
    for (char c : body) x ^= static_cast<std::uint8_t>(c);
    return x;
}

std::int64_t days_from_civil(int year, int month, int day) {
    std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2);
    std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    std::int64_t yoe = y - era * 400;
    std::int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

NmeaDate civil_from_days(std::int64_t z) {
    z += 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    std::int64_t doe = z - era * 146097;
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {static_cast<int>(yoe + era * 400 + (m <= 2)), m, d};
}

std::string iso8601_utc(const NmeaDate& date, const NmeaTime& time) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", date.year, date.month, date.day, time.hour,
                  time.minute, time.second, static_cast<int>(time.nanos / 1'000'000));
    return buf;
}

namespace {

std::vector<std::string_view> split_fields(std::string_view body) {
    std::vector<std::string_view> out;
    for (;;) {
        auto comma = body.find(',');
        out.push_back(body.substr(0, comma));
        if (comma == std::string_view::npos) return out;
        body.remove_prefix(comma + 1);
    }
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

bool all_digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}

int two_digits(std::string_view s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

// Reads the fields of one sentence, remembering the first fault (as records.cpp's Fields).
class Reader {
public:
    Reader(std::string name, std::vector<std::string_view> fields) : name_(std::move(name)), f_(std::move(fields)) {}

    std::string_view at(std::size_t i) const { return i < f_.size() ? f_[i] : std::string_view{}; }

    void time(std::size_t i, std::optional<NmeaTime>& out) {
        auto s = at(i);
        if (s.empty()) return;
        auto dot = s.find('.');
        auto whole = s.substr(0, dot);
        auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
        if (whole.size() != 6 || !all_digits(whole) || (dot != std::string_view::npos && !all_digits(frac)) ||
            frac.size() > 9)
            return bad("time", s);
        NmeaTime t{two_digits(whole), two_digits(whole.substr(2)), two_digits(whole.substr(4)), 0};
        for (std::size_t k = 0; k < 9; ++k) t.nanos = t.nanos * 10 + (k < frac.size() ? frac[k] - '0' : 0);
        if (t.hour > 23 || t.minute > 59 || t.second > 60) return bad("time", s);
        out = t;
    }
    // RMC's ddmmyy.
    void date6(std::size_t i, std::optional<NmeaDate>& out) {
        auto s = at(i);
        if (s.empty()) return;
        if (s.size() != 6 || !all_digits(s)) return bad("date", s);
        int yy = two_digits(s.substr(4));
        NmeaDate d{yy >= 80 ? 1900 + yy : 2000 + yy, two_digits(s.substr(2)), two_digits(s)};
        if (!valid_date(d)) return bad("date", s);
        out = d;
    }
    // ZDA's dd, mm, yyyy.
    void date3(std::size_t i, std::optional<NmeaDate>& out) {
        auto d = at(i), m = at(i + 1), y = at(i + 2);
        if (d.empty() && m.empty() && y.empty()) return;
        if (d.size() != 2 || m.size() != 2 || y.size() != 4 || !all_digits(d) || !all_digits(m) || !all_digits(y))
            return bad("date", std::string(d) + "," + std::string(m) + "," + std::string(y));
        NmeaDate out_d{two_digits(y) * 100 + two_digits(y.substr(2)), two_digits(m), two_digits(d)};
        if (!valid_date(out_d)) return bad("date", std::string(d) + "," + std::string(m) + "," + std::string(y));
        out = out_d;
    }
    // ddmm.mmmm,N or dddmm.mmmm,E
    void angle(std::size_t i, int degree_digits, const char* what, char positive, char negative,
               std::optional<double>& out) {
        auto s = at(i), h = at(i + 1);
        if (s.empty() && h.empty()) return;
        auto dot = s.find('.');
        auto whole = s.substr(0, dot);
        if (whole.size() != static_cast<std::size_t>(degree_digits + 2) || !all_digits(whole) || h.size() != 1 ||
            (h[0] != positive && h[0] != negative))
            return bad(what, std::string(s) + "," + std::string(h));
        double minutes = 0;
        if (!number(s.substr(degree_digits), minutes) || minutes >= 60) return bad(what, s);
        double deg = 0;
        for (int k = 0; k < degree_digits; ++k) deg = deg * 10 + (s[static_cast<std::size_t>(k)] - '0');
        deg += minutes / 60;
        if (deg > (degree_digits == 2 ? 90 : 180)) return bad(what, s);
        out = h[0] == positive ? deg : -deg;
    }
    void real(std::size_t i, const char* what, std::optional<double>& out) {
        auto s = at(i);
        if (s.empty()) return;
        double v = 0;
        if (!number(s, v)) return bad(what, s);
        out = v;
    }
    void integer(std::size_t i, const char* what, int lo, int hi, std::optional<int>& out) {
        auto s = at(i);
        if (s.empty()) return;
        int v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || p != s.data() + s.size() || v < lo || v > hi) return bad(what, s);
        out = v;
    }

    const std::optional<Error>& error() const { return err_; }
    void bad(const char* what, std::string_view value) {
        if (err_) return;
        std::string v;
        for (char c : value) v += (c >= 0x20 && c < 0x7f) ? c : '?';
        err_ = Error{name_ + ": " + what + ": \"" + v + "\" is not valid", EX_DATAERR};
    }

private:
    static bool valid_date(const NmeaDate& d) {
        static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > kDays[d.month - 1]) return false;
        bool leap = (d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0;
        return !(d.month == 2 && d.day == 29 && !leap);
    }
    static bool number(std::string_view s, double& out) {
        // Plain decimals only: no exponent, no sign other than a leading '-', nothing after.
        if (s.empty() || s.size() > 32) return false;
        std::size_t k = s[0] == '-' ? 1 : 0;
        bool digit = false, dot = false;
        for (; k < s.size(); ++k) {
            if (s[k] >= '0' && s[k] <= '9') digit = true;
            else if (s[k] == '.' && !dot) dot = true;
            else return false;
        }
        if (!digit) return false;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && p == s.data() + s.size() && std::isfinite(out);
    }

    std::string name_;
    std::vector<std::string_view> f_;
    std::optional<Error> err_;
};

Unexpected<Error> fault(SentenceFault* out, SentenceFault why, std::string what) {
    if (out) *out = why;
    return fail(std::move(what), EX_DATAERR);
}

}  // namespace

Result<Sentence> parse_sentence(std::string_view line, SentenceFault* why) {
    if (why) *why = SentenceFault::none;
    if (line.size() < 7 || line[0] != '$') return fault(why, SentenceFault::not_sentence, "not an NMEA sentence");
    for (char c : line)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e)
            return fault(why, SentenceFault::not_sentence, "not an NMEA sentence: control or 8-bit byte");
    auto star = line.rfind('*');
    if (star == std::string_view::npos || star + 3 != line.size())
        return fault(why, SentenceFault::no_checksum, "no checksum");
    int hi = hex_digit(line[star + 1]), lo = hex_digit(line[star + 2]);
    auto body = line.substr(1, star - 1);
    if (hi < 0 || lo < 0) return fault(why, SentenceFault::no_checksum, "no checksum");
    auto given = static_cast<std::uint8_t>(hi * 16 + lo);
    auto computed = nmea_checksum(body);
    auto address = body.substr(0, body.find(','));
    std::string name;
    for (char c : address.substr(0, 8)) name += c;
    if (given != computed) {
        char buf[64];
        std::snprintf(buf, sizeof buf, ": bad checksum %02X, computed %02X", given, computed);
        return fault(why, SentenceFault::bad_checksum, name + buf);
    }
    if (address.size() != 5 || address[0] < 'A' || address[0] > 'Z' || address[1] < 'A' || address[1] > 'Z')
        return fault(why, SentenceFault::unknown_type, name + ": not a sentence this reader knows");
    Sentence s;
    s.talker = std::string(address.substr(0, 2));
    s.type = std::string(address.substr(2));
    Reader r(name, split_fields(body));
    if (s.type == "GGA") {
        r.time(1, s.time);
        r.angle(2, 2, "latitude", 'N', 'S', s.latitude);
        r.angle(4, 3, "longitude", 'E', 'W', s.longitude);
        r.integer(6, "quality", 0, 8, s.quality);
        r.integer(7, "satellites", 0, 99, s.satellites);
        r.real(8, "hdop", s.hdop);
        r.real(9, "altitude", s.altitude);
        if (s.quality) s.valid = *s.quality >= 1 && *s.quality != 6;  // 6: dead reckoning, no fix
    } else if (s.type == "RMC") {
        r.time(1, s.time);
        auto st = r.at(2);
        if (st == "A" || st == "V") s.status = st[0];
        else if (!st.empty()) r.bad("status", st);
        r.angle(3, 2, "latitude", 'N', 'S', s.latitude);
        r.angle(5, 3, "longitude", 'E', 'W', s.longitude);
        r.date6(9, s.date);
        if (auto m = r.at(12); !m.empty()) s.mode = std::string(m.substr(0, 1));
        if (s.status) s.valid = *s.status == 'A' && s.mode.value_or("A") != "N";
    } else if (s.type == "ZDA") {
        r.time(1, s.time);
        r.date3(2, s.date);
    } else if (s.type == "GNS") {
        r.time(1, s.time);
        r.angle(2, 2, "latitude", 'N', 'S', s.latitude);
        r.angle(4, 3, "longitude", 'E', 'W', s.longitude);
        auto m = r.at(6);
        if (!m.empty()) {
            for (char c : m)
                if (c < 'A' || c > 'Z') r.bad("mode", m);
            s.mode = std::string(m.substr(0, 8));
            // Any system with a fix (not N: none, E: dead reckoning) makes the fix valid.
            s.valid = m.find_first_not_of("NE") != std::string_view::npos;
        }
        r.integer(7, "satellites", 0, 99, s.satellites);
        r.real(8, "hdop", s.hdop);
        r.real(9, "altitude", s.altitude);
    } else {
        return fault(why, SentenceFault::unknown_type, name + ": not a sentence this reader knows");
    }
    if (r.error()) return fault(why, SentenceFault::bad_field, r.error()->what);
    return s;
}

}  // namespace timepipe::refclock
