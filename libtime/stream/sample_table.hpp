// The human view of a stream: an `ntpq -p` style table, one row per sample record, a table of
// its own for Roughtime samples, and one generic line for any other record. Pure functions of
// (records, now): no clock is read here. man/timecat.1 describes what people see.
//
//   std::fputs(text_view(records, now_ns).c_str(), stdout);   // a whole batch
//
//   // streaming (timecat): a header before the first row of each table
//   TableKind shown = TableKind::none;
//   std::fputs(text_line(rec, now_ns, shown).c_str(), stdout);
//
//        remote          refid      st when poll reach  delay  offset    +/- jitter
//   ===============================================================================
//   *127.0.0.1       .GPS.           1    3   64   377  213us   -31us  126us   12us
//   stats source=ntp://127.0.0.1:123 time=1700000000000000000 counters={"sent":4}
//
// Every row fits 79 columns (chronyc's width) while remote is at most 15 characters and refid
// at most 14; a longer remote gets a line of its own (ntpq -pw), a longer refid pushes the row
// right until a column has room. Durations are chronyc's: at most 4 digits and a unit chosen per
// value (format_duration). Every string from a stream is shown through escape_text, so a
// hostile stream cannot write control characters to a terminal.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

// Every row and header line is at most this wide (when remote and refid fit their columns).
inline constexpr std::size_t kTableWidth = 79;

// `s` with what a terminal would act on made visible: a backslash as "\\", C0 controls and DEL
// as "\x1b", C1 controls (U+0080-U+009F), the bidirectional controls and U+2028/U+2029 as
// "\u009b", "\u202e", and each byte that is not part of valid UTF-8 as "\xff". Printable text,
// UTF-8 included, is unchanged. The result is valid UTF-8 without control characters.
std::string escape_text(std::string_view s);
// The same but with backslashes left alone: for messages, which no one needs to unescape.
std::string escape_controls(std::string_view s);

// A duration in seconds as chronyc shows it: a unit chosen per value so that at most 4 digits
// are shown (5 for whole seconds and years), "123ns", "4567us", "12ms", "10.5s", "86399s",
// then hours to 999h, days to 999d and years ("31.7y", "250y"), "INF" past 99999 years. Never wider than 6 characters, 7 with a sign.
// format_duration shows a sign only when negative; format_signed_duration always, except for
// a value that rounds to zero, "0ns" (never "-0").
std::string format_duration(double seconds);
std::string format_signed_duration(double seconds);

// The +/- column: the error bound of the offset, in seconds. For an NTP sample the root
// distance as chronyc's `sources` reports it, (delay + root_delay) / 2 + dispersion +
// root_dispersion (missing root values count 0, a negative delay 0); for a Roughtime sample
// (source roughtime://) half the round trip plus the radius, delay / 2 + dispersion.
double sample_error(const Sample& s);

// The two header lines of the NTP table, each ending in '\n'.
std::string sample_table_header();

// One NTP table row for `s` (one or two lines, ending in '\n'), `tally` in the first column.
std::string sample_table_row(const Sample& s, UnixNanos now, char tally = ' ');

// The header and a row of the Roughtime table: remote, version (the record's
// "roughtime_version"), verified ("yes", "no", or "-" without the key), when, rtt, offset,
// +/- and radius (the sample's dispersion).
std::string roughtime_table_header();
std::string roughtime_table_row(const Sample& s, const Record& record, UnixNanos now);

// A record that is not a (valid) sample: "TYPE key=value ...\n", values as compact JSON, bare
// when they are text without spaces; strings escaped.
std::string generic_line(const Record& record);

// Which table text_line showed a header for last.
enum class TableKind { none, ntp, roughtime };

// The text for one record: the header of its table when `shown` is another one (then sets
// it), the row and, on an indented line below, the keys the row has no column for; or the
// generic line.
std::string text_line(const Record& record, UnixNanos now, TableKind& shown);

// The whole view of `records`: each row under its table's header, other records one line each.
std::string text_view(std::span<const Record> records, UnixNanos now);

}  // namespace timepipe
