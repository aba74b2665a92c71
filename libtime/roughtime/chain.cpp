#include "libtime/roughtime/chain.hpp"

#include <algorithm>
#include <limits>

#include "libtime/roughtime/message.hpp"

namespace timepipe::roughtime {

std::vector<std::byte> chain_nonce(std::span<const std::byte> previous_response, std::span<const std::byte> rand,
                                   std::size_t nonce_size) {
    auto digest = crypto::sha512(previous_response, rand);
    nonce_size = std::min(nonce_size, digest.size());
    return {digest.begin(), digest.begin() + static_cast<std::ptrdiff_t>(nonce_size)};
}

std::optional<std::span<const std::byte>> request_nonce(std::span<const std::byte> request) {
    auto body = request;
    if (is_framed(request)) {
        auto inner = unframe(request);
        if (!inner) return std::nullopt;
        body = *inner;
    }
    auto msg = parse_message(body);
    if (!msg) return std::nullopt;
    return msg->find(tag::NONC);
}

std::string_view to_string(LinkError e) {
    switch (e) {
    case LinkError::MissingRand: return "no rand after the first response";
    case LinkError::RandSize: return "rand is not 32 octets";
    case LinkError::NoNonce: return "request has no nonce";
    case LinkError::Mismatch: return "nonce is not H(previous response || rand)";
    }
    return "?";
}

Expected<void, LinkError> check_link(std::span<const std::byte> previous_response, std::span<const std::byte> rand,
                                     std::span<const std::byte> request) {
    if (rand.empty()) return unexpected(LinkError::MissingRand);
    if (rand.size() != kChainRandSize) return unexpected(LinkError::RandSize);
    auto nonce = request_nonce(request);
    if (!nonce || nonce->empty()) return unexpected(LinkError::NoNonce);
    if (nonce->size() > crypto::kSha512Size) return unexpected(LinkError::Mismatch);
    auto expected = chain_nonce(previous_response, rand, nonce->size());
    if (!std::equal(expected.begin(), expected.end(), nonce->begin(), nonce->end()))
        return unexpected(LinkError::Mismatch);
    return {};
}

std::vector<std::byte> Chain::next_nonce(std::size_t nonce_size) {
    // The first nonce is plain random (§8.2); later ones need 32 octets of rand.
    std::vector<std::byte> random(steps_.empty() ? nonce_size : kChainRandSize);
    crypto::random_bytes(random);
    return next_nonce(nonce_size, random);
}

std::vector<std::byte> Chain::next_nonce(std::size_t nonce_size, std::span<const std::byte> random) {
    pending_ = true;
    if (steps_.empty()) {
        pending_rand_.clear();
        pending_nonce_.assign(random.begin(), random.end());
        pending_nonce_.resize(nonce_size);
    } else {
        pending_rand_.assign(random.begin(), random.end());
        pending_nonce_ = chain_nonce(steps_.back().response, pending_rand_, nonce_size);
    }
    return pending_nonce_;
}

Result<void> Chain::record(const crypto::PublicKey& public_key, std::span<const std::byte> request,
                           std::span<const std::byte> response) {
    if (!pending_) return fail("chain: record without next_nonce", EX_SOFTWARE);
    auto nonce = request_nonce(request);
    if (!nonce || !std::equal(nonce->begin(), nonce->end(), pending_nonce_.begin(), pending_nonce_.end()))
        return fail("chain: the request does not carry the chained nonce", EX_SOFTWARE);
    pending_ = false;
    steps_.push_back({public_key, std::move(pending_rand_), {request.begin(), request.end()},
                      {response.begin(), response.end()}});
    pending_rand_.clear();
    return {};
}

namespace {

std::int64_t sat_add(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
    return r;
}

std::int64_t sat_sub(std::int64_t a, std::int64_t b) {
    std::int64_t r = 0;
    if (__builtin_sub_overflow(a, b, &r))
        return b < 0 ? std::numeric_limits<std::int64_t>::max() : std::numeric_limits<std::int64_t>::min();
    return r;
}

}  // namespace

std::vector<CausalityViolation> causality_violations(std::span<const StepTime> times) {
    std::vector<CausalityViolation> out;
    for (std::size_t i = 0; i < times.size(); ++i) {
        // Saturating: the bounds only overflow far beyond any real timestamp (MAXT "forever").
        std::int64_t earliest_i = sat_sub(times[i].midpoint, times[i].radius_ns);
        for (std::size_t j = i + 1; j < times.size(); ++j) {
            std::int64_t latest_j = sat_add(times[j].midpoint, times[j].radius_ns);
            if (earliest_i > latest_j) out.push_back({i, j, sat_sub(earliest_i, latest_j)});
        }
    }
    return out;
}

}  // namespace timepipe::roughtime
