// Roughtime client, pure: build a request, verify a response against it and the server's
// long-term public key. No sockets, no clock; the caller supplies the nonce (random, or chained:
// RFC 10049 §8.2) and keeps the request bytes for verification and for malfeasance reports.
//
//   std::array<std::byte, 32> nonce;  crypto::random_bytes(nonce);
//   const Version offer[] = {Version::Draft11, Version::Draft12, Version::Rfc};
//   std::array<std::byte, 2048> req;
//   auto n = build_request({.versions = offer, .nonce = nonce, .server_key = pk}, req);
//   ... send req[0, *n), receive reply ...
//   auto t = verify_response(std::span(req).first(*n), reply, pk);   // Expected<VerifiedTime, VerifyError>
//   if (!t) warnx("%s: %s", server, std::string(to_string(t.error())).c_str());
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/base/expected.hpp"
#include "libtime/roughtime/version.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::roughtime {

// A request is at least this long (RFC 10049 §5.1: amplification protection).
inline constexpr std::size_t kMinRequestSize = 1024;
// build_request never writes more than this.
inline constexpr std::size_t kMaxRequestSize = kMinRequestSize + kFrameHeaderSize;

struct RequestParams {
    // What to offer, in any order. Google cannot be offered together with an IETF version.
    std::span<const Version> versions;
    // nonce_size(versions) octets: 64 for Google-Roughtime, 32 otherwise.
    std::span<const std::byte> nonce;
    // The long-term key the client will verify with; sent as SRV when an offered version has
    // SRV (draft 11 and later). Optional.
    std::optional<crypto::PublicKey> server_key;
};

enum class RequestError {
    NoVersions,
    GoogleWithIetf,  // Google-Roughtime offered together with an IETF version
    BadNonceLength,
    BufferTooSmall,
};
std::string_view to_string(RequestError e);

std::size_t nonce_size(std::span<const Version> versions);  // 64 if only Google, else 32
// SRV = SHA-512(0xff ‖ long-term public key)[:32] (RFC 10049 §5.1.3).
std::array<std::byte, 32> srv_value(std::span<const std::byte, crypto::kEd25519PublicKeySize> long_term_key);

// Writes the request into `out` (kMaxRequestSize is always enough); returns its length.
Expected<std::size_t, RequestError> build_request(const RequestParams& params, std::span<std::byte> out);
Expected<std::vector<std::byte>, RequestError> make_request(const RequestParams& params);  // allocates

struct VerifiedTime {
    UnixNanos midpoint = 0;     // MIDP
    std::int64_t radius_ns = 0;  // RADI
    Version version = Version::Google;
    UnixNanos mint = 0;  // the delegation's window (saturated at INT64_MAX)
    UnixNanos maxt = 0;
    crypto::PublicKey online_key{};   // the delegated key that signed SREP
    std::vector<std::byte> response;  // the raw response, as received
};

enum class VerifyError {
    BadRequest,          // the request given does not parse as a request we would send
    Malformed,           // the response does not parse, or a required tag is missing / wrong size
    Version,             // a version not offered, or not the newest shared one (downgrade)
    Type,                // TYPE missing or not 1 where the version has it
    Nonce,               // NONC not the request's nonce
    DeleSignature,       // CERT's SIG over DELE fails under the long-term key
    SrepSignature,       // SIG over SREP fails under the delegated key
    MidpointOutsideDelegation,  // not MINT <= MIDP <= MAXT
    Index,               // INDX has bits set beyond the PATH's depth
    MerklePath,          // the leaf, PATH and INDX do not lead to ROOT
};
std::string_view to_string(VerifyError e);  // "DELE signature", "Merkle path", ...
// What failed, as a whole phrase for "tool: server: PHRASE": "SREP signature does not verify",
// "NONC does not echo the request", "Merkle path does not lead to ROOT", ...
std::string_view failure_text(VerifyError e);

// Checks `response` fully against `request` (the exact bytes sent) and the server's long-term
// key: version, TYPE, nonce echo, both signatures with the version's contexts, the delegation
// window, and the Merkle proof (RFC 10049 §5.4).
Expected<VerifiedTime, VerifyError> verify_response(std::span<const std::byte> request,
                                                    std::span<const std::byte> response,
                                                    std::span<const std::byte, crypto::kEd25519PublicKeySize> long_term_key);

}  // namespace timepipe::roughtime
