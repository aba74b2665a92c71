#include "libtime/discipline/leap_file.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <string>

#include <openssl/evp.h>

namespace timepipe::discipline {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// The next whitespace-separated field of s, removed from s.
std::string_view field(std::string_view& s) {
    s = trim(s);
    std::size_t n = 0;
    while (n < s.size() && !is_space(s[n])) ++n;
    auto f = s.substr(0, n);
    s.remove_prefix(n);
    return f;
}

bool all_digits(std::string_view s) {
    if (s.empty() || s.size() > 12) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

std::int64_t to_int(std::string_view s) {
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

Unexpected<Error> line_error(std::size_t line, const char* why) {
    return fail("line " + std::to_string(line) + ": " + why, EX_DATAERR);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 to civil date (Howard Hinnant's algorithm).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    std::int64_t era = floor_div(z, 146097);
    auto doe = static_cast<unsigned>(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) ++y;
}

}  // namespace

Result<LeapTable> parse_leap_file(std::string_view text) {
    if (text.size() > kMaxLeapFileBytes) return fail("larger than 1 MiB", EX_DATAERR);
    LeapTable table;
    std::string hashed;  // the digits the SHA-1 covers
    bool have_updated = false, have_expires = false, have_hash = false;
    std::array<unsigned char, 20> want{};
    std::size_t hash_line = 0;
    std::size_t line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (line.size() >= 2 && line[0] == '#' && (line[1] == '$' || line[1] == '@')) {
            std::string_view rest = line.substr(2);
            auto v = field(rest);
            if (!all_digits(v) || !trim(rest).empty()) return line_error(line_no, "not one number");
            hashed += v;
            if (line[1] == '$') {
                if (have_updated) return line_error(line_no, "a second #$ line");
                have_updated = true;
                table.updated = to_int(v);
            } else {
                if (have_expires) return line_error(line_no, "a second #@ line");
                have_expires = true;
                table.expires = to_int(v);
            }
            continue;
        }
        if (line.size() >= 2 && line[0] == '#' && line[1] == 'h') {
            if (have_hash) return line_error(line_no, "a second #h line");
            std::string_view rest = line.substr(2);
            for (std::size_t w = 0; w < 5; ++w) {
                auto word = field(rest);
                if (word.empty() || word.size() > 8) return line_error(line_no, "not five hex words");
                std::uint32_t v = 0;
                auto [end, ec] = std::from_chars(word.data(), word.data() + word.size(), v, 16);
                if (ec != std::errc() || end != word.data() + word.size())
                    return line_error(line_no, "not five hex words");
                for (int b = 0; b < 4; ++b)
                    want[w * 4 + static_cast<std::size_t>(b)] = static_cast<unsigned char>(v >> (24 - 8 * b));
            }
            if (!trim(rest).empty()) return line_error(line_no, "not five hex words");
            have_hash = true;
            hash_line = line_no;
            continue;
        }
        if (!line.empty() && line[0] == '#') continue;
        std::string_view data = line.substr(0, line.find('#'));
        if (trim(data).empty()) continue;
        auto t = field(data);
        auto off = field(data);
        if (!all_digits(t) || !all_digits(off) || !trim(data).empty())
            return line_error(line_no, "not two numbers");
        LeapEntry e{to_int(t), static_cast<int>(to_int(off))};
        if (e.tai_offset > 1000) return line_error(line_no, "TAI-UTC beyond 1000 s");
        if (!table.entries.empty()) {
            const auto& prev = table.entries.back();
            if (e.ntp_seconds <= prev.ntp_seconds) return line_error(line_no, "not after the line before");
            if (e.tai_offset - prev.tai_offset != 1 && e.tai_offset - prev.tai_offset != -1)
                return line_error(line_no, "TAI-UTC does not change by one second");
            if (e.ntp_seconds % 86400 != 0) return line_error(line_no, "not at midnight UTC");
        }
        if (table.entries.size() >= 10000) return line_error(line_no, "too many entries");
        hashed += t;
        hashed += off;
        table.entries.push_back(e);
    }
    if (!have_updated) return fail("no last-update (#$) line", EX_DATAERR);
    if (!have_expires) return fail("no expiry (#@) line", EX_DATAERR);
    if (!have_hash) return fail("no hash (#h) line", EX_DATAERR);
    if (table.entries.empty()) return fail("no leap second lines", EX_DATAERR);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(hashed.data(), hashed.size(), md, &len, EVP_sha1(), nullptr) != 1 || len != 20)
        return fail("SHA-1 unavailable", EX_SOFTWARE);
    for (std::size_t i = 0; i < 20; ++i)
        if (md[i] != want[i]) return line_error(hash_line, "SHA-1 mismatch");
    return table;
}

bool leap_file_expired(const LeapTable& table, UnixNanos t) {
    return floor_div(t, kNanosPerSecond) + kNtpToUnixSeconds >= table.expires;
}

int leap_on_day(const LeapTable& table, UnixNanos t) {
    std::int64_t day = floor_div(t, 86400 * kNanosPerSecond);
    std::int64_t next_midnight_ntp = (day + 1) * 86400 + kNtpToUnixSeconds;
    for (std::size_t i = 1; i < table.entries.size(); ++i) {
        if (table.entries[i].ntp_seconds != next_midnight_ntp) continue;
        return table.entries[i].tai_offset > table.entries[i - 1].tai_offset ? 1 : 2;
    }
    return 0;
}

bool last_day_of_month(UnixNanos t) {
    std::int64_t day = floor_div(t, 86400 * kNanosPerSecond);
    std::int64_t y1, y2;
    unsigned m1, m2, d1, d2;
    civil_from_days(day, y1, m1, d1);
    civil_from_days(day + 1, y2, m2, d2);
    return m1 != m2;
}

}  // namespace timepipe::discipline
