// Microbenchmarks of Roughtime: a server answering a batch of 64 requests with one Merkle tree and
// one Ed25519 signature (items/s = responses/s on one core), and a client verifying one response
// (two Ed25519 verifications dominate). RFC version and Google-Roughtime (64-octet hashes).
#include <memory>
#include <span>
#include <vector>

#include <benchmark/benchmark.h>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/responder.hpp"

namespace {

using namespace timepipe;
using namespace timepipe::roughtime;

constexpr UnixNanos kNow = 1'750'000'000 * kNanosPerSecond;

struct Setup {
    crypto::Ed25519KeyPair root = crypto::ed25519_generate();
    std::unique_ptr<Responder> responder;
    std::vector<std::vector<std::byte>> requests;
    std::vector<std::span<const std::byte>> spans;

    Setup(Version v, std::size_t batch) {
        auto online = crypto::ed25519_generate();
        responder = std::make_unique<Responder>(
            make_delegation(root, online.public_key, 0, 2'000'000'000 * kNanosPerSecond), std::move(online));
        const Version offer[] = {v};
        for (std::size_t i = 0; i < batch; ++i) {
            std::vector<std::byte> nonce(nonce_size(offer));
            crypto::random_bytes(nonce);
            requests.push_back(*make_request({.versions = offer, .nonce = nonce, .server_key = root.public_key}));
        }
        spans.assign(requests.begin(), requests.end());
    }
};

void BM_RoughtimeRespondBatch64(benchmark::State& state, Version v) {
    Setup s(v, 64);
    for (auto _ : state) {
        auto replies = s.responder->respond(s.spans, kNow, kNanosPerSecond);
        benchmark::DoNotOptimize(replies.data());
    }
    state.SetItemsProcessed(state.iterations() * 64);  // responses
}
BENCHMARK_CAPTURE(BM_RoughtimeRespondBatch64, rfc, Version::Rfc);
BENCHMARK_CAPTURE(BM_RoughtimeRespondBatch64, google, Version::Google);

void BM_RoughtimeVerifyResponse(benchmark::State& state, Version v) {
    Setup s(v, 64);
    const auto replies = s.responder->respond(s.spans, kNow, kNanosPerSecond);
    const std::vector<std::byte> reply(replies[5].bytes.begin(), replies[5].bytes.end());
    for (auto _ : state) {
        auto t = verify_response(s.requests[5], reply, s.root.public_key);
        benchmark::DoNotOptimize(t);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_RoughtimeVerifyResponse, rfc, Version::Rfc);
BENCHMARK_CAPTURE(BM_RoughtimeVerifyResponse, google, Version::Google);

void BM_RoughtimeBuildRequest(benchmark::State& state) {
    const Version offer[] = {Version::Draft11, Version::Draft12, Version::Rfc};
    std::array<std::byte, 32> nonce{};
    std::array<std::byte, kMaxRequestSize> out{};
    for (auto _ : state) {
        auto n = build_request({.versions = offer, .nonce = nonce, .server_key = std::nullopt}, out);
        benchmark::DoNotOptimize(n);
    }
}
BENCHMARK(BM_RoughtimeBuildRequest);

}  // namespace
