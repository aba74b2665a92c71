// A verified Roughtime answer as a "sample" record of the time stream (man/time-stream.5), and
// its midpoint as text.
//
//   Record r = sample_record("roughtime://127.0.0.1:2002", verified, sent, received);
//   std::string when = iso8601_utc(verified.midpoint);   // "2025-05-22T20:07:30Z"
#pragma once

#include <string>

#include "libtime/base/unix_time.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/stream/codec.hpp"

namespace timepipe::roughtime {

// seconds, MIDP minus the local midpoint of sending the request and receiving the answer.
double clock_offset(UnixNanos midpoint, UnixNanos sent, UnixNanos received);

// A "sample" record of time-stream(5) for a verified answer: time = `received`, offset as
// clock_offset, delay = received - sent, dispersion = 0; the server counts as a primary
// source (stratum 1, refid "ROUG", leap 0, poll 0) with root_dispersion = RADI (RFC 10049 §6)
// and no root_delay, so that a reader's root distance (root_delay + delay) / 2 + root_dispersion
// + dispersion counts the round trip and the radius once each; then the keys "roughtime_version" (short_name) and "verified": true — or, for an
// answer a checked chain proves in conflict, "verified": false and "conflict": true.
enum class ChainVerdict { Consistent, Conflict };
Record sample_record(const std::string& source, const VerifiedTime& t, UnixNanos sent, UnixNanos received,
                     ChainVerdict verdict = ChainVerdict::Consistent);

// "2025-05-22T20:07:30Z" (fraction only when not whole seconds: ".123456Z").
std::string iso8601_utc(UnixNanos t);

// --- TCP framing ------------------------------------------------------------------------------

// The largest response roughtime-query reads from a TCP stream.
inline constexpr std::size_t kMaxTcpPacket = 65536;

}  // namespace timepipe::roughtime
