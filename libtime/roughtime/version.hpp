// The Roughtime versions timepipe speaks, and every way they differ, in one table. Code elsewhere
// asks traits(v).something and never compares versions itself.
//
//   Google-Roughtime   no VER; 64-byte nonce; times in microseconds     (roughtime.googlesource.com PROTOCOL.md)
//   draft 08 0x80000008, draft 11 0x8000000b                            (draft-ietf-ntp-roughtime-08/-11)
//   drafts 12-19 0x8000000c (all 12-19 share the number)                (draft-ietf-ntp-roughtime-12..19)
//   RFC 10049 version 1 0x00000001                                      (RFC 10049 §5.1.1, IANA registry)
//
// Negotiation (RFC 10049 §5.1.1, §5.2.4): the client lists the versions it speaks in VER, ascending;
// the server answers in the newest it shares. Google-Roughtime requests carry no VER at all, and
// one request cannot offer Google-Roughtime together with an IETF version (its framing and nonce
// differ).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "libtime/base/expected.hpp"
#include "libtime/roughtime/message.hpp"

namespace timepipe::roughtime {

enum class Version : std::uint32_t {
    Google = 0,  // a placeholder: Google-Roughtime sends no VER, and 0 is "reserved" on the wire
    Draft08 = 0x8000'0008,
    Draft11 = 0x8000'000b,
    Draft12 = 0x8000'000c,  // drafts 12-19
    Rfc = 0x0000'0001,      // RFC 10049 "Roughtime version 1"
};

enum class TimeUnit : std::uint8_t { Microseconds, Seconds };

struct VersionTraits {
    Version version;
    std::string_view name;
    int rank;                       // newer is larger; the server picks the largest shared
    bool sends_ver;                 // VER in requests (a list) and responses (one value)
    bool framed;                    // packets start with "ROUGHTIM" + uint32 length
    std::size_t nonce_size;         // NONC octets
    std::size_t hash_size;          // Merkle node / ROOT / PATH element octets (SHA-512 truncated)
    Tag padding_tag;                // PAD\xff or ZZZZ
    bool request_size_counts_frame; // true: the whole datagram is >= 1024; false: the message is
    std::string_view delegation_context;  // signed before DELE, NUL included
    std::string_view response_context;    // signed before SREP, NUL included
    bool leaf_is_request;           // Merkle leaf = the whole request packet, else its nonce
    bool ver_in_srep;               // VER and VERS inside SREP (signed), else VER at top level
    bool has_srv;                   // a request may name the long-term key in SRV
    bool sends_type;                // requests carry TYPE 0, responses TYPE 1
    bool requires_type;             // a response without TYPE is rejected
    bool requires_nonce_echo;       // a response without NONC is rejected
    TimeUnit time_unit;             // MIDP, RADI, MINT, MAXT
};

// Newest first: Rfc, Draft12, Draft11, Draft08, Google.
std::span<const VersionTraits> all_versions();
const VersionTraits& traits(Version v);
std::string_view to_string(Version v);
// The version a VER value names; nullopt for anything timepipe does not speak (including 0).
std::optional<Version> version_from_wire(std::uint32_t ver);
inline std::uint32_t to_wire(Version v) { return static_cast<std::uint32_t>(v); }

// Converts a MIDP/MINT/MAXT value to Unix nanoseconds, saturating at INT64_MAX (MAXT is often
// 0xffffffffffffffff, "forever").
std::int64_t timestamp_to_nanos(std::uint64_t value, TimeUnit unit);
std::uint64_t nanos_to_timestamp(std::int64_t ns, TimeUnit unit);  // truncates; negative -> 0
std::int64_t radius_to_nanos(std::uint32_t value, TimeUnit unit);
std::uint32_t nanos_to_radius(std::int64_t ns, TimeUnit unit);  // rounds up, saturates

// --- VER lists -------------------------------------------------------------------------------
inline constexpr std::size_t kMaxVersionList = 32;  // more entries than that is an attack, not a client

enum class NegotiateError {
    Malformed,        // empty, not whole uint32s, or over kMaxVersionList entries
    NoCommonVersion,  // nothing the server speaks
};
std::string_view to_string(NegotiateError e);

// Writes the IETF versions among `versions` as a VER value: ascending uint32s, no repeats
// (RFC 10049 §5.1.1). Google is skipped. Returns the octets written (4 per version), or 0 if
// `out` is too small.
std::size_t write_version_list(std::span<const Version> versions, std::span<std::byte> out);

// The server's choice: the newest version in both the client's VER value and `supported`.
Expected<Version, NegotiateError> negotiate(std::span<const std::byte> client_ver_value,
                                            std::span<const Version> supported);

}  // namespace timepipe::roughtime
