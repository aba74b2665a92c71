// Microbenchmarks of NTS (RFC 8915) on one core: the AEAD alone (a cookie's 64-octet plaintext,
// a request's empty one), and a server's whole per-request work — open the cookie, check the
// authenticator, seal a new cookie, seal the response — as ntp-serve's workers do it (NtsServer).
#include <array>
#include <vector>

#include <benchmark/benchmark.h>

#include "libtime/base/crypto.hpp"
#include "libtime/nts/aead.hpp"
#include "libtime/nts/cookie.hpp"
#include "libtime/nts/ntp_fields.hpp"

namespace {

using namespace timepipe;
using namespace timepipe::nts;

std::vector<std::byte> random_vector(std::size_t n) {
    std::vector<std::byte> v(n);
    crypto::random_bytes(v);
    return v;
}

void BM_SivSeal(benchmark::State& state) {
    Siv siv;
    auto key = random_vector(32), nonce = random_vector(16), ad = random_vector(static_cast<std::size_t>(state.range(1)));
    auto plain = random_vector(static_cast<std::size_t>(state.range(0)));
    std::vector<std::byte> out(plain.size() + kSivTagSize);
    for (auto _ : state) {
        auto n = siv.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, out);
        benchmark::DoNotOptimize(n);
    }
    state.SetItemsProcessed(state.iterations());
}
// plaintext, associated data: a cookie (64, 4), a request's authenticator (0, 184), a response's (108, 84)
BENCHMARK(BM_SivSeal)->Args({64, 4})->Args({0, 184})->Args({108, 84});

// B clients' requests (one each), answered a batch at a time as ntp-serve's workers do:
// B = 8 is a full group at saturation, 1 a request answered alone (a batch that came short).
struct Server {
    CookieKeys keys;
    std::vector<std::vector<std::byte>> requests, replies;
    std::vector<ServerExchange> batch;
    Siv siv;  // the clients'
    NtsServer nts;

    explicit Server(std::size_t clients) : requests(clients), replies(clients, std::vector<std::byte>(1024)), batch(clients) {
        rotate_cookie_keys(keys, 1'750'000'000, 2);
        for (std::size_t i = 0; i < clients; ++i) {
            SessionKeys session{AeadAlgorithm::aes_siv_cmac_256, random_vector(32), random_vector(32)};
            auto cookie = seal_cookie(siv, keys.current(), session);
            auto& request = requests[i];
            request.assign(1024, std::byte{0});
            request[0] = std::byte{0x23};  // NTPv4, client
            auto uid = random_vector(kUniqueIdSize);
            auto n = write_client_request(siv, session, uid, cookie, 0, request);
            request.resize(n ? *n : 0);
            batch[i].request = request;
            batch[i].reply = replies[i];
        }
    }
};

// Items: responses.
void BM_NtsServerResponse(benchmark::State& state) {
    Server s(static_cast<std::size_t>(state.range(0)));
    for (auto _ : state) {
        s.nts.answer(s.keys, s.batch);
        if (s.batch[0].verdict != ServerExchange::Verdict::answered) {
            state.SkipWithError("request refused");
            break;
        }
        benchmark::DoNotOptimize(s.batch[0].length);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_NtsServerResponse)->Arg(1)->Arg(8);

}  // namespace
