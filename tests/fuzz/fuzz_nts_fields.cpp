// What ntp-serve --nts-keys and ntp-query --nts do with an NTS packet from the network, with
// the server's cookie key and the client's session keys fixed (the seeds were made with them):
// read_client_request (server) and read_server_response / is_nts_nak (client). Nothing crashes;
// an accepted request gets a response no longer than itself that the client side accepts with
// exactly the cookies asked for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/nts/ntp_fields.hpp"

using namespace timepipe;
using namespace timepipe::nts;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

// The fixed keys of the seed corpus (tests/fuzz/corpus/nts_fields).
const char* kKeyFile = "0000002a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 1700000000\n";

SessionKeys fixed_session() {
    std::vector<std::byte> c2s(32), s2c(32);
    for (std::size_t i = 0; i < 32; ++i) {
        c2s[i] = std::byte(0x40 + i);
        s2c[i] = std::byte(0x80 + i);
    }
    return SessionKeys(AeadAlgorithm::aes_siv_cmac_256, c2s, s2c);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Siv siv;
    static const auto parsed = parse_cookie_keys(kKeyFile);
    const CookieKeys& keys = *parsed;
    static const SessionKeys session = fixed_session();
    auto packet = std::as_bytes(std::span(data, size));

    auto q = read_client_request(siv, keys, packet);
    if (q) {
        check(q->cookies_wanted >= 1 && q->cookies_wanted <= kMaxCookies && q->uid.size() >= kUniqueIdSize);
        std::vector<Cookie> fresh;
        for (int i = 0; i < q->cookies_wanted; ++i) fresh.push_back(seal_cookie(siv, keys.current(), q->keys));
        std::vector<std::byte> out(2048);
        out[0] = std::byte{0x24};
        auto n = write_server_response(siv, *q, fresh, out, packet.size());
        if (n) {
            check(*n <= packet.size());
            auto back = read_server_response(siv, q->keys, q->uid, std::span(out).first(*n));
            check(back && back->size() == fresh.size());
        }
    }
    if (size >= 48 + kUniqueIdSize) {
        auto uid = packet.subspan(52, kUniqueIdSize);  // where a first field's value would be
        auto r = read_server_response(siv, session, uid, packet);
        if (r) check(!r->empty() && r->size() <= static_cast<std::size_t>(kMaxCookies));
        (void)is_nts_nak(packet, uid);
    }
    return 0;
}
