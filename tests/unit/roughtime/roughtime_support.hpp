// What the Roughtime tests share: a simulated server answering in batches, to build chains and
// reports from.
//
//   SimServer s(rng);                           // keys drawn from rng; radius 1 s, no offset
//   s.offset_ns = 86400 * kSec;                 // its clock a day ahead
//   auto resp = s.answer(*req, now, 4, rng, versions);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "libtime/base/crypto.hpp"
#include "libtime/base/unix_time.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/responder.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::test {

// A simulated server: long-term key, delegation, and a clock offset from "true" time.
struct SimServer {
    crypto::Ed25519KeyPair long_term;
    std::unique_ptr<roughtime::Responder> responder;
    std::int64_t offset_ns = 0;
    std::int64_t radius_ns;

    explicit SimServer(std::mt19937_64& rng, std::int64_t radius = kSec) : long_term(seeded(rng)), radius_ns(radius) {
        auto online = seeded(rng);
        auto dele =
            roughtime::make_delegation(long_term, online.public_key, 0, std::numeric_limits<std::int64_t>::max());
        responder = std::make_unique<roughtime::Responder>(std::move(dele), std::move(online));
    }

    static crypto::Ed25519KeyPair seeded(std::mt19937_64& rng) {
        std::array<std::byte, 32> seed{};
        for (auto& b : seed) b = static_cast<std::byte>(rng());
        return crypto::ed25519_from_seed(seed);
    }

    // Answers `request` at index `mine` of a batch of `batch` requests (the others random), so
    // PATH and INDX are not trivial.
    std::vector<std::byte> answer(const std::vector<std::byte>& request, UnixNanos true_now, std::size_t batch,
                                  std::size_t mine, std::mt19937_64& rng,
                                  std::span<const roughtime::Version> versions) {
        std::vector<std::vector<std::byte>> others;
        for (std::size_t i = 0; i + 1 < batch; ++i) {
            std::vector<std::byte> nonce(roughtime::nonce_size(versions));
            for (auto& b : nonce) b = static_cast<std::byte>(rng());
            others.push_back(*roughtime::make_request({versions, nonce, std::nullopt}));
        }
        std::vector<std::span<const std::byte>> reqs;
        for (std::size_t i = 0, k = 0; i < batch; ++i)
            reqs.push_back(i == mine ? std::span<const std::byte>(request) : std::span<const std::byte>(others[k++]));
        auto replies = responder->respond(reqs, true_now + offset_ns, radius_ns);
        EXPECT_FALSE(replies[mine].dropped);
        return {replies[mine].bytes.begin(), replies[mine].bytes.end()};
    }

    // The same at an index drawn from `rng` first.
    std::vector<std::byte> answer(const std::vector<std::byte>& request, UnixNanos true_now, std::size_t batch,
                                  std::mt19937_64& rng, std::span<const roughtime::Version> versions) {
        const std::size_t mine = rng() % batch;
        return answer(request, true_now, batch, mine, rng, versions);
    }
};

}  // namespace timepipe::test
