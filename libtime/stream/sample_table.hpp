// The human view of a stream: an `ntpq -p` style table, one row per sample record, and one
// generic line for any other record. Pure functions of (records, now): no clock is read here.
//
//   std::fputs(text_view(records, now_ns).c_str(), stdout);   // a whole batch
//
//   // streaming (timecat): header once, before the first sample row
//   bool header_done = false;
//   std::fputs(text_line(rec, now_ns, header_done).c_str(), stdout);
//
//        remote                refid      st when poll reach    delay   offset  jitter
//   ===================================================================================
//   *127.0.0.1:123          .GPS.            1    3   64   377    0.213   -0.031   0.012
//   stats source=ntp://127.0.0.1:123 time=1700000000000000000 counters={"sent":4}
//
// The first column is ntpq's tally code: '*' system peer, '+' survivor, '-' trimmed by
// clustering, 'x' falseticker, ' ' for none (ntp-query's selection passes one; timecat has none).
// remote is the source without "ntp://" (long ones get a line of their own, like ntpq -pw);
// refid is dotted (.GPS.) at stratum 0, 1 and 16 as ntpq does, unless it is an address; when is seconds since `time`
// ("12m", "3h", "2d", "3y" past 2048 s, "INF" past 999 years, "-" if in the future: never more
// than 4 characters, as in ntpq); poll is 2^poll s in the same form; reach
// is octal; delay, offset and jitter are milliseconds; "-" for what the sample lacks.
#pragma once

#include <span>
#include <string>

#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

// The two header lines, each ending in '\n'.
std::string sample_table_header();

// One table row for `s` (one or two lines, ending in '\n'), `tally` in the first column.
std::string sample_table_row(const Sample& s, UnixNanos now, char tally = ' ');

// A record that is not a (valid) sample: "TYPE key=value ...\n", values as compact JSON, bare
// when they are text without spaces.
std::string generic_line(const Record& record);

// The text for one record: the header first if `header_done` is false and this is a sample row
// (then sets it), the row, or the generic line.
std::string text_line(const Record& record, UnixNanos now, bool& header_done);

// The whole view of `records`: header (if any sample), then one row or line each.
std::string text_view(std::span<const Record> records, UnixNanos now);

}  // namespace timepipe
