// The IANA/IERS leap-seconds.list (as tzdata ships it in /usr/share/zoneinfo): when the leap
// seconds were, its expiry, and its SHA-1 line checked.
//
//   auto table = parse_leap_file(text);            // "line 120: hash mismatch" on failure
//   if (table && !leap_file_expired(*table, t)) adjust.leap = leap_on_day(*table, t);
//
// The format: "#$ NTP-seconds" (last update), "#@ NTP-seconds" (expiry), "#h h1 h2 h3 h4 h5"
// (SHA-1, five hex words, over the digits of the update, the expiry and the first two fields of
// every data line), other "#" lines comments, data lines "NTP-seconds TAI-UTC [# comment]" with
// NTP seconds since 1900 of the instant the new TAI-UTC starts. Pure.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::discipline {

inline constexpr std::int64_t kNtpToUnixSeconds = 2208988800;  // 1900-01-01 to 1970-01-01
inline constexpr std::size_t kMaxLeapFileBytes = 1 << 20;

struct LeapEntry {
    std::int64_t ntp_seconds = 0;  // when TAI-UTC becomes tai_offset
    int tai_offset = 0;
};

struct LeapTable {
    std::int64_t updated = 0;  // NTP seconds
    std::int64_t expires = 0;  // NTP seconds
    std::vector<LeapEntry> entries;  // strictly increasing times, offsets changing by 1
};

// Errors (EX_DATAERR) name the line: "line 7: not two numbers", "line 120: SHA-1 mismatch",
// "no expiry (#@) line", "no hash (#h) line".
Result<LeapTable> parse_leap_file(std::string_view text);

// Whether the table's expiry is at or before local time t.
bool leap_file_expired(const LeapTable& table, UnixNanos t);

// 1 when a second is inserted at the end of the UTC day of t, 2 when one is deleted, else 0.
int leap_on_day(const LeapTable& table, UnixNanos t);

// Whether the UTC day of t is the last of its month (when NTP servers' leap bits take effect).
bool last_day_of_month(UnixNanos t);

}  // namespace timepipe::discipline
