// libFuzzer target for the whole server request path, ntp::Responder::handle(): access policy,
// rate limiter, interleave table and response writing, with state kept across inputs. Whatever
// comes in: nothing crashes, a response is exactly 48 octets and never larger than the
// request, goes only to a request accept_request() takes, and is a mode-4 packet of the
// request's version that parses.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "libtime/server/responder.hpp"

using namespace timepipe;
using namespace timepipe::ntp;

namespace {

constexpr UnixNanos kStart = 1'700'000'000LL * 1'000'000'000;

struct Server {
    ServerCounters counters;
    RateLimiter limiter{RateLimitConfig{.rate = 1000, .burst = 64, .table_size = 64}, std::array<std::byte, 16>{}};
    InterleaveTable table{16, std::array<std::byte, 16>{}};
    Responder responder{{.deny_kod = true, .interleaved = true}, &limiter, &table, counters};
    std::int64_t calls = 0;
    Server() {
        std::vector<std::string> rules{"allow all", "deny 192.0.2.0/24", "restrict 198.51.100.0/24",
                                       "deny 2001:db8:bad::/48"};
        responder.set_policy(std::make_shared<const AccessPolicy>(*make_access_policy(rules)));
    }
};

const std::array<std::array<std::byte, 16>, 5> kClients = [] {
    std::array<std::array<std::byte, 16>, 5> c{};
    c[0][0] = std::byte{203}, c[0][3] = std::byte{1};                           // allowed v4
    c[1][0] = std::byte{192}, c[1][2] = std::byte{2}, c[1][3] = std::byte{7};   // denied
    c[2][0] = std::byte{198}, c[2][1] = std::byte{51}, c[2][2] = std::byte{100};  // restricted
    c[3][0] = std::byte{0x20}, c[3][1] = std::byte{0x01}, c[3][15] = std::byte{1};  // allowed v6
    c[4][0] = std::byte{0x20}, c[4][1] = std::byte{0x01}, c[4][2] = std::byte{0x0d};
    c[4][3] = std::byte{0xb8}, c[4][4] = std::byte{0x0b}, c[4][5] = std::byte{0xad};  // denied v6
    return c;
}();

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Server server;
    // A copy the exact size of the input, so any read past it is caught.
    std::vector<std::byte> request(size);
    for (std::size_t i = 0; i < size; ++i) request[i] = std::byte(data[i]);

    std::int64_t n = server.calls++;
    std::size_t which = static_cast<std::size_t>(n % 5);
    std::span<const std::byte> client(kClients[which].data(), which < 3 ? 4 : 16);
    UnixNanos rx = kStart + n * 1'000'000;  // the same series every run: interleaving is reachable
    ServerState state = n % 7 == 0 ? unsynchronised_state(-20) : local_clock_state(2, -20, rx);
    state.correction_ns = (n % 3 - 1) * 1'000'000'000LL;

    std::array<std::byte, kHeaderSize + 16> out{};
    Outcome o = server.responder.handle(request, client, rx, rx + 10'000, n * 1'000'000, state, out);

    if (o.length != 0) {
        if (o.length != kHeaderSize || o.length > size || !o.reply || o.drop) std::abort();
        auto req = accept_request(request);
        if (!req) std::abort();
        auto resp = parse(std::span<const std::byte>(out.data(), o.length));
        if (!resp || resp->header.mode != Mode::Server || resp->header.version != req->version) std::abort();
    } else if (!o.drop || o.reply) {
        std::abort();
    }
    return 0;
}
