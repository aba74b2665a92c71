// The WebNTP JSON line (go-webntp, after NICT's JSON time service) and its timestamps.
//
//   {"id":"example.net","it":1700000000.123457,"st":1700000000.200000,"time":1700000000.200000,
//    "leap":37,"next":1483228800.000000,"step":1}
//
// Key order is go-webntp's Response struct order. Timestamps are bare JSON numbers in Unix seconds
// with exactly 6 decimals, correctly rounded (half away from zero) with carry into the seconds:
// 1.9999996 s prints "2.000000" (go-webntp's old formatter printed "1.1000000"). Parsing accepts
// what real clients and servers send: an integer, or 1 to 9 decimals (go-webntp's 7-digit form,
// current go-webntp's trimmed nanoseconds, a browser's Date.now()/1000), optionally negative.
//
//   std::string s = format_timestamp(now);                  // "1700000000.123457"
//   auto t = parse_timestamp("1700000000.1234567");         // Result<UnixNanos>
//   std::string line = to_json_line(reply);                 // no trailing newline
//   auto r = parse_json_line(body);                         // errors: one line, EX_DATAERR
#pragma once

#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::http {

// The WebSocket subprotocol go-webntp speaks.
inline constexpr std::string_view kWebNtpSubprotocol = "webntp.shogo82148.com";

struct WebNtpReply {
    std::string id;       // the server's name (its Host header)
    UnixNanos it = 0;     // the client's timestamp, echoed
    UnixNanos st = 0;     // the server's send time
    UnixNanos time = 0;   // the same as st (htptime compatibility)
    int leap = 0;         // TAI - UTC before `next`
    UnixNanos next = 0;   // the next (or last) leap second
    int step = 0;         // +1 insertion, -1 deletion, 0 none
    bool operator==(const WebNtpReply&) const = default;
};

// Exactly 6 decimals, correctly rounded, "-" for instants before 1970 ("-0.500000").
std::string format_timestamp(UnixNanos t);

// Integer or decimal seconds (1-9 decimals), optional leading '-'. No exponent, no '+', no spaces.
// Out of the int64-nanosecond range (about +-292 years around 1970): error.
Result<UnixNanos> parse_timestamp(std::string_view s);

// The exact bytes go-webntp's server writes, without a trailing newline. `id` is JSON-escaped
// (invalid UTF-8 becomes U+FFFD, as Go's encoder does).
std::string to_json_line(const WebNtpReply& reply);

// One JSON object (surrounding whitespace and a final newline allowed). Keys in any order; all
// seven required, each once; unknown keys with string or number values ignored. Errors name the
// byte offset: "byte 12: expected ':'".
Result<WebNtpReply> parse_json_line(std::string_view bytes);

}  // namespace timepipe::http
