// The decisions of a Roughtime client that are not the wire protocol itself, as pure functions,
// so roughtime-query only does I/O: which versions to offer (--version-set), how to read a public
// key from the command line, how long each try waits (--timeout, --retries), which servers a
// measurement sequence asks and in which order (RFC 10049 §8.2), how a verified answer becomes
// a sample record of the time stream, and how long a framed packet read from TCP is.
//
//   auto versions = parse_version_set("rfc,draft12");         // Result<std::vector<Version>>
//   auto key = parse_public_key(argv[2]);                      // base64 or 64 hex digits
//   for (int k = 0; k < plan.tries(); ++k) wait_up_to(plan.try_timeout(k));
//   auto order = measurement_sequence(list.size(), 0, uniform);   // e.g. {2, 0, 1, 2, 0, 1}
//   Record r = sample_record("roughtime://127.0.0.1:2002", verified, sent, received);
//
// No I/O, no clock; randomness comes from the caller.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/version.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::roughtime {

// --- versions ---------------------------------------------------------------------------------

// Short names, as roughtime-query prints and takes them: "rfc", "draft-12", "draft-11",
// "draft-08", "google".
std::string_view short_name(Version v);

// What a client offers when not told otherwise: every IETF version (Google-Roughtime cannot
// share a request with them). The server answers in the newest it speaks.
std::vector<Version> default_versions();

// A comma-separated list of short names ("draft12" and "draft08" without the dash too), "ietf"
// or "all" (= default_versions()). Google-Roughtime only alone. Errors are EX_USAGE:
// "unknown version \"x\" (rfc, draft-12, draft-11, draft-08, google, ietf)".
Result<std::vector<Version>> parse_version_set(std::string_view text);

// What failed, as a whole phrase for "tool: server: PHRASE": "SREP signature does not verify",
// "NONC does not echo the request", "Merkle path does not lead to ROOT", ...
std::string_view failure_text(VerifyError e);

// --- keys -------------------------------------------------------------------------------------

// An Ed25519 public key as 44 characters of base64 (either alphabet, padding optional) or 64
// hex digits. Errors are EX_USAGE: "not base64 or hex", "not 32 bytes".
Result<crypto::PublicKey> parse_public_key(std::string_view text);

// --- retries ----------------------------------------------------------------------------------

// A request is sent up to 1 + retries times; try k waits timeout * 2^k for an answer, never more
// than max_timeout (exponential backoff: a congested or greasing server gets room).
struct RetryPlan {
    std::chrono::nanoseconds timeout = std::chrono::seconds(1);
    int retries = 2;
    std::chrono::nanoseconds max_timeout = std::chrono::seconds(30);

    int tries() const { return retries + 1; }
    std::chrono::nanoseconds try_timeout(int attempt) const;
    std::chrono::nanoseconds total() const;  // the longest a silent server can cost
};

// --- measurement sequence (RFC 10049 §8.2) ---------------------------------------------------

// "The client randomly selects at least three servers from the list, and sequentially queries
// them. The query sequence SHOULD be repeated twice with the servers in the same order."
inline constexpr std::size_t kMinSequenceServers = 3;

// uniform(n) returns an integer in [0, n), uniformly.
using UniformRandom = std::function<std::uint32_t(std::uint32_t bound)>;

// The indices into a list of `servers` to query, in order: `pick` of them (0: all) chosen at
// random and shuffled, then the same again. Fails (EX_USAGE) when fewer than
// kMinSequenceServers would be picked or `pick` exceeds `servers`.
Result<std::vector<std::size_t>> measurement_sequence(std::size_t servers, std::size_t pick,
                                                      const UniformRandom& uniform);

// --- the sample record ------------------------------------------------------------------------

// seconds, MIDP minus the local midpoint of sending the request and receiving the answer.
double clock_offset(UnixNanos midpoint, UnixNanos sent, UnixNanos received);

// A "sample" record of time-stream(5) for a verified answer: time = `received`, offset as
// clock_offset, delay = received - sent, dispersion = RADI; the server counts as a primary
// source (stratum 1, refid "ROUG", leap 0, poll 0), with root_delay = delay and
// root_dispersion = RADI (RFC 10049 §6: RADI in the root dispersion, the round trip in the root
// delay); then the keys "roughtime_version" (short_name) and "verified": true — or, for an
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
