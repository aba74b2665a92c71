// What ntp-serve --nts-keys and ntp-query --nts do with an NTS packet from the network, with
// the server's cookie key and the client's session keys fixed (the seeds were made with them):
// NtsServer (server, the packet twice in one batch) and read_server_response / is_nts_nak
// (client). Nothing crashes; both copies get the same verdict; an answered request gets a
// response no longer than itself that the client side (with the keys in the request's cookie)
// accepts with exactly the cookies it was given.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/nts/ntp_fields.hpp"
#include "libtime/ntp/extension.hpp"

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

    static NtsServer server;
    std::vector<std::byte> out_a(2048), out_b(2048);
    ServerExchange batch[2];
    batch[0].request = batch[1].request = packet;
    batch[0].reply = out_a;
    batch[1].reply = out_b;
    server.answer(keys, batch);
    check(batch[0].verdict == batch[1].verdict && batch[0].length == batch[1].length);
    if (batch[0].verdict == ServerExchange::Verdict::answered) {
        const ServerExchange& x = batch[0];
        check(x.length <= packet.size() && x.cookies >= 1 && x.cookies <= kMaxCookies && x.uid.size() >= kUniqueIdSize);
        auto fields = ntp::split_extensions(packet.subspan(48), ntp::ExtensionRules::Nts);
        check(fields.has_value());
        auto cookie = fields->fields.find(kFieldCookie);
        check(cookie.has_value());
        auto keys_in_cookie = open_cookie(siv, keys, cookie->value);
        check(keys_in_cookie.has_value());
        auto back = read_server_response(siv, *keys_in_cookie, x.uid, std::span(out_a).first(x.length));
        check(back && back->size() == static_cast<std::size_t>(x.cookies));
    }
    if (size >= 48 + kUniqueIdSize) {
        auto uid = packet.subspan(52, kUniqueIdSize);  // where a first field's value would be
        auto r = read_server_response(siv, session, uid, packet);
        if (r) check(!r->empty() && r->size() <= static_cast<std::size_t>(kMaxCookies));
        (void)is_nts_nak(packet, uid);
    }
    return 0;
}
