// libtime/nts/ntp_fields: an NTS request and response built and checked by both sides — the
// cookies asked for come back inside the encrypted part, the response is never longer than the
// request, a flipped bit anywhere in either packet is refused, a replayed response (another
// UID) is refused, a cookie of a rotated-out key gets a NAK the client recognises.
#include <gtest/gtest.h>

#include <array>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/nts/ntp_fields.hpp"

using namespace timepipe;
using namespace timepipe::nts;

namespace {

using Bytes = std::vector<std::byte>;

struct World {
    Siv siv;
    CookieKeys server_keys;
    SessionKeys session;
    Bytes uid = Bytes(kUniqueIdSize);

    World() {
        rotate_cookie_keys(server_keys, 1'700'000'000, 2);
        Bytes c2s(32), s2c(32);
        crypto::random_bytes(c2s);
        crypto::random_bytes(s2c);
        session = SessionKeys(AeadAlgorithm::aes_siv_cmac_256, c2s, s2c);
        crypto::random_bytes(uid);
    }
    Cookie cookie() { return seal_cookie(siv, server_keys.current(), session); }
    Bytes request(int placeholders) {
        Bytes buf(1024);
        buf[0] = std::byte{0x23};  // LI 0, version 4, mode 3
        auto c = cookie();
        auto n = write_client_request(siv, session, uid, c, placeholders, buf);
        EXPECT_TRUE(n) << n.error().what;
        buf.resize(n ? *n : 0);
        return buf;
    }
    Bytes response(const Bytes& req) {
        auto q = read_client_request(siv, server_keys, req);
        EXPECT_TRUE(q) << q.error().what;
        if (!q) return {};
        std::vector<Cookie> fresh;
        for (int i = 0; i < q->cookies_wanted; ++i) fresh.push_back(seal_cookie(siv, server_keys.current(), q->keys));
        Bytes buf(1024);
        buf[0] = std::byte{0x24};  // mode 4
        auto n = write_server_response(siv, *q, fresh, buf, req.size());
        EXPECT_TRUE(n) << n.error().what;
        buf.resize(n ? *n : 0);
        return buf;
    }
};

}  // namespace

TEST(NtsFields, RequestAndResponseRoundTripWithTheCookiesAskedFor) {
    World w;
    for (int placeholders : {0, 1, 7}) {
        auto req = w.request(placeholders);
        EXPECT_EQ(req.size(), 48 + 36 + 108 * (1 + placeholders) + 40u);
        auto q = read_client_request(w.siv, w.server_keys, req);
        ASSERT_TRUE(q) << q.error().what;
        EXPECT_EQ(q->cookies_wanted, 1 + placeholders);
        EXPECT_EQ(q->uid, w.uid);
        EXPECT_TRUE(q->keys == w.session);
        auto resp = w.response(req);
        EXPECT_EQ(resp.size(), req.size());  // padded to the request's length, never longer
        auto cookies = read_server_response(w.siv, w.session, w.uid, resp);
        ASSERT_TRUE(cookies) << cookies.error().what;
        EXPECT_EQ(cookies->size(), 1u + placeholders);
        for (const auto& c : *cookies) EXPECT_TRUE(open_cookie(w.siv, w.server_keys, c));  // usable next time
    }
}

TEST(NtsFields, AFlippedBitAnywhereInTheRequestIsRefused) {
    World w;
    auto req = w.request(1);
    for (std::size_t bit = 0; bit < req.size() * 8; ++bit) {
        auto t = req;
        t[bit / 8] ^= std::byte(1u << (bit % 8));
        auto q = read_client_request(w.siv, w.server_keys, t);
        EXPECT_FALSE(q) << "bit " << bit << " of " << req.size() * 8;
    }
}

TEST(NtsFields, AFlippedBitAnywhereInTheResponseOrAnotherUidIsRefused) {
    World w;
    auto req = w.request(0);
    auto resp = w.response(req);
    for (std::size_t bit = 0; bit < resp.size() * 8; ++bit) {
        auto t = resp;
        t[bit / 8] ^= std::byte(1u << (bit % 8));
        EXPECT_FALSE(read_server_response(w.siv, w.session, w.uid, t)) << "bit " << bit;
    }
    // a replayed response: an earlier answer to a request with another UID
    Bytes other_uid = w.uid;
    other_uid[0] ^= std::byte{1};
    auto r = read_server_response(w.siv, w.session, other_uid, resp);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "unique identifier does not match the request");
}

TEST(NtsFields, RotatedOutCookieGetsANakTheClientRecognises) {
    World w;
    auto req = w.request(0);
    rotate_cookie_keys(w.server_keys, 1, 0);  // the cookie's key is gone
    auto q = read_client_request(w.siv, w.server_keys, req);
    ASSERT_FALSE(q);
    EXPECT_TRUE(q.error().nts);
    EXPECT_TRUE(q.error().nak);
    EXPECT_EQ(q.error().what.rfind("cookie: unknown cookie key ", 0), 0u) << q.error().what;

    Bytes nak(1024);
    nak[0] = std::byte{0x24};
    nak[1] = std::byte{0};  // stratum 0
    const char code[] = "NTSN";
    for (int i = 0; i < 4; ++i) nak[12 + i] = std::byte(code[i]);
    Bytes uid(req.begin() + 52, req.begin() + 84);
    auto n = write_nak(uid, nak);
    ASSERT_TRUE(n);
    nak.resize(*n);
    EXPECT_TRUE(is_nts_nak(nak, w.uid));
    auto r = read_server_response(w.siv, w.session, w.uid, nak);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "NTS NAK (kiss code NTSN)");
    Bytes other = w.uid;
    other[5] ^= std::byte{1};
    EXPECT_FALSE(is_nts_nak(nak, other));  // a NAK for someone else's request
}

TEST(NtsFields, PlainNtpIsNotNtsAndMalformedNtsIsNotANak) {
    World w;
    Bytes plain(48);
    plain[0] = std::byte{0x23};
    auto q = read_client_request(w.siv, w.server_keys, plain);
    ASSERT_FALSE(q);
    EXPECT_FALSE(q.error().nts);

    auto req = w.request(0);
    Bytes no_auth(req.begin(), req.end() - 40);  // UID and cookie, no authenticator
    q = read_client_request(w.siv, w.server_keys, no_auth);
    ASSERT_FALSE(q);
    EXPECT_TRUE(q.error().nts);
    EXPECT_FALSE(q.error().nak);
    EXPECT_EQ(q.error().what, "no authenticator");
}

TEST(NtsFields, AResponseLongerThanItsRequestIsNeverWritten) {
    World w;
    auto req = w.request(0);
    auto q = read_client_request(w.siv, w.server_keys, req);
    ASSERT_TRUE(q);
    std::vector<Cookie> two{w.cookie(), w.cookie()};  // more than asked for
    Bytes buf(1024);
    auto n = write_server_response(w.siv, *q, two, buf, req.size());
    ASSERT_FALSE(n);
}

// The server sets up a client's two keys once per message (together, Siv::prepare) and keeps
// neither after its response or after refusing the request: every message pays for its own
// keys, and no client's keys stay in the server's memory.
TEST(NtsFields, TheServerSetsUpClientKeysPerMessageAndKeepsNone) {
    World w;  // w.siv is the client's
    Siv server;
    for (int i = 0; i < 3; ++i) {
        Bytes req = w.request(0);
        const auto before = server.key_set_ups();
        auto q = read_client_request(server, w.server_keys, req);
        ASSERT_TRUE(q) << q.error().what;
        const Cookie fresh[] = {seal_cookie(server, w.server_keys.current(), q->keys)};
        Bytes buf(1024);
        buf[0] = std::byte{0x24};
        auto n = write_server_response(server, *q, fresh, buf, req.size());
        ASSERT_TRUE(n) << n.error().what;
        buf.resize(*n);
        EXPECT_TRUE(read_server_response(w.siv, w.session, w.uid, buf));
        EXPECT_EQ(server.key_set_ups() - before, i == 0 ? 3u : 2u) << "message " << i;  // + the cookie key once
    }
    Bytes tampered = w.request(0);
    tampered.back() ^= std::byte{1};
    auto before = server.key_set_ups();
    EXPECT_FALSE(read_client_request(server, w.server_keys, tampered));
    EXPECT_EQ(server.key_set_ups() - before, 2u);
    before = server.key_set_ups();
    EXPECT_TRUE(read_client_request(server, w.server_keys, w.request(0)));
    EXPECT_EQ(server.key_set_ups() - before, 2u);  // the refused request's keys were not kept
}
