// Roughtime measurement chains (RFC 10049 §8.2): each request's nonce commits to the response
// before it, so a sequence of answers from different servers proves the order they were given
// in, and answers that contradict that order prove that some server lied.
//
//   Chain chain;
//   for (const Server& s : picked) {                         // libtime/roughtime/server_list.hpp
//       auto nonce = chain.next_nonce(nonce_size(s.versions)); // random first, then chained
//       auto req = make_request({s.versions, nonce, s.public_key});
//       ... send, receive `resp` (or nothing: just ask next_nonce again for the next server) ...
//       if (auto ok = chain.record(s.public_key, *req, resp); !ok) ...
//   }
//   auto bad = causality_violations(times);                  // from verify_response of each step
//
// Nonces: the first is random; each later one is H(previous response ‖ rand) with rand 32 fresh
// random octets and H SHA-512 cut to the nonce's size (32 octets; 64, the whole digest, for
// Google-Roughtime's 64-octet nonce). Pure apart from drawing random octets: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/expected.hpp"
#include "libtime/base/crypto.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::roughtime {

inline constexpr std::size_t kChainRandSize = 32;  // "rand" (§8.2, §8.4.1)

// One exchange of a chain: the fields of a malfeasance report entry (§8.4.1).
struct ChainStep {
    crypto::PublicKey public_key{};  // the long-term key the answer must verify under
    std::vector<std::byte> rand;     // empty for the first step, whose nonce is plain random
    std::vector<std::byte> request;  // the packet sent, framing included
    std::vector<std::byte> response; // the packet received, framing included
};

// H(previous_response ‖ rand)[:nonce_size] (§8.2, H as in §5.3.1). nonce_size at most 64.
std::vector<std::byte> chain_nonce(std::span<const std::byte> previous_response, std::span<const std::byte> rand,
                                   std::size_t nonce_size);

// The NONC value of a request packet (framed IETF or bare Google-Roughtime); nullopt if the
// packet does not parse or has no NONC. Borrows `request`.
std::optional<std::span<const std::byte>> request_nonce(std::span<const std::byte> request);

enum class LinkError {
    MissingRand,  // a step after the first without "rand"
    RandSize,     // "rand" not 32 octets
    NoNonce,      // the request does not parse or carries no NONC
    Mismatch,     // NONC is not H(previous response ‖ rand)
};
std::string_view to_string(LinkError e);  // "nonce is not H(previous response ‖ rand)", ...

// Checks that `request`'s nonce was derived from `previous_response` and `rand` (§8.2).
Expected<void, LinkError> check_link(std::span<const std::byte> previous_response, std::span<const std::byte> rand,
                                     std::span<const std::byte> request);

// Builds a chain step by step, drawing the randomness itself.
class Chain {
public:
    // The nonce for the next request: random for the first, else chained to the last recorded
    // response with fresh rand. Asking again (a server did not answer) draws afresh.
    std::vector<std::byte> next_nonce(std::size_t nonce_size);
    // The same with the caller's randomness (tests, replays): `random` is the nonce itself for
    // the first step (nonce_size octets) and rand (32 octets) afterwards.
    std::vector<std::byte> next_nonce(std::size_t nonce_size, std::span<const std::byte> random);

    // Appends the exchange made with the last next_nonce(). Fails (EX_SOFTWARE) if next_nonce
    // was not called since the last record, or `request` does not carry that nonce.
    Result<void> record(const crypto::PublicKey& public_key, std::span<const std::byte> request,
                        std::span<const std::byte> response);

    const std::vector<ChainStep>& steps() const { return steps_; }

private:
    std::vector<ChainStep> steps_;
    std::vector<std::byte> pending_nonce_;
    std::vector<std::byte> pending_rand_;
    bool pending_ = false;
};

// What a verified response claims (roughtime_client's VerifiedTime, units already normalised).
struct StepTime {
    UnixNanos midpoint = 0;
    std::int64_t radius_ns = 0;
};

// Responses i < j (in the order received) whose times contradict that order (§8.2): the
// earliest time i can have been signed, MIDP_i - RADI_i, is after the latest time j can have
// been, MIDP_j + RADI_j.
struct CausalityViolation {
    std::size_t earlier = 0;  // i
    std::size_t later = 0;    // j
    std::int64_t excess_ns = 0;  // (MIDP_i - RADI_i) - (MIDP_j + RADI_j) > 0, saturated
    friend bool operator==(const CausalityViolation&, const CausalityViolation&) = default;
};

// Every violating pair, ordered by (earlier, later). Quadratic; chains are a handful long.
std::vector<CausalityViolation> causality_violations(std::span<const StepTime> times);

}  // namespace timepipe::roughtime
