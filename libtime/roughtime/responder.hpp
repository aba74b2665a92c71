// Roughtime server side, pure: no sockets, no clock. The long-term key signs a delegation once
// (make_delegation); the Responder then answers batches of request datagrams, signing each batch
// once with the online key over the root of a Merkle tree of its requests (RFC 10049 §5.2, §5.3).
//
//   auto dele = make_delegation(long_term, online.public_key, mint, maxt);
//   Responder r(std::move(dele), std::move(online));
//   for (const Reply& rep : r.respond(datagrams, now, 1 * kNanosPerSecond))
//       if (!rep.dropped) send(rep.bytes);            // valid until the next respond()
//
// Requests that are short (< 1024 octets, RFC 10049 §5.1), malformed, offer no version we speak,
// or name another long-term key in SRV are dropped, with the reason. A batch mixing versions is
// answered with one tree and one signature per version (their SREPs differ). No response is ever
// larger than its request (amplification, RFC 10049 §5.2): one that would be is dropped.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/merkle.hpp"
#include "libtime/roughtime/version.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::roughtime {

// The long-term key's certificate for one online key: a CERT (DELE + SIG) for each version,
// since the versions differ in DELE's time unit and in the signature context.
struct Delegation {
    crypto::PublicKey long_term_key{};
    crypto::PublicKey online_key{};
    UnixNanos mint = 0;
    UnixNanos maxt = 0;
    std::array<std::byte, 32> srv{};  // SHA-512(0xff ‖ long_term_key)[:32]
    std::array<std::vector<std::byte>, 5> certs;  // indexed like all_versions()
    std::span<const std::byte> cert_for(Version v) const;
};

// Signs DELE{PUBK, MINT, MAXT} with the long-term key for every version.
Delegation make_delegation(const crypto::Ed25519KeyPair& long_term, const crypto::PublicKey& online_key,
                           UnixNanos mint, UnixNanos maxt);

enum class DropReason {
    TooShort,        // under kMinRequestSize octets
    Malformed,       // frame, message, NONC or TYPE wrong
    UnknownVersion,  // no VER we speak (or Google-Roughtime not enabled)
    SrvMismatch,     // SRV names a different long-term key
    TooLarge,        // the response would be larger than the request
};
std::string_view to_string(DropReason r);

struct Reply {
    std::span<const std::byte> bytes;  // empty when dropped
    std::optional<DropReason> dropped;
    Version version = Version::Google;
};

class Responder {
public:
    // Batches are cut into chunks of this many requests: PATH grows with the tree, and a Google
    // response (64-octet hashes) must still fit in its 1024-octet request.
    static constexpr std::size_t kMaxBatch = 256;

    // `supported` defaults to every version in all_versions().
    Responder(Delegation delegation, crypto::Ed25519KeyPair online_key, std::span<const Version> supported = {});

    // One Reply per request, in order; the spans stay valid until the next call.
    std::span<const Reply> respond(std::span<const std::span<const std::byte>> requests, UnixNanos now,
                                   std::int64_t radius_ns);

    const Delegation& delegation() const { return delegation_; }

private:
    struct Pending {
        std::span<const std::byte> packet;
        std::span<const std::byte> nonce;
        Version version = Version::Google;
    };
    void answer_chunk(std::span<const std::span<const std::byte>> requests, std::size_t first, UnixNanos now,
                      std::int64_t radius_ns);
    std::optional<DropReason> parse_request(std::span<const std::byte> packet, Pending& out) const;

    Delegation delegation_;
    crypto::Ed25519KeyPair online_;
    std::array<Version, 5> supported_{};
    std::size_t supported_count_ = 0;
    std::array<std::byte, 4 * 5> vers_value_{};  // VERS: the IETF versions supported, ascending
    std::size_t vers_size_ = 0;

    // Reused between calls so a steady server does not allocate.
    std::vector<Pending> pending_;
    std::vector<Reply> replies_;
    std::vector<std::size_t> reply_offsets_;
    std::vector<std::byte> arena_;
    MerkleTree tree_;
};

}  // namespace timepipe::roughtime
