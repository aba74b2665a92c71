// libtime/nts/ntp_fields: an NTS request and response built and checked by both sides — the
// cookies asked for come back inside the encrypted part, the response is never longer than the
// request, a flipped bit anywhere in either packet is refused, a replayed response (another
// UID) is refused, a cookie of a rotated-out key gets a NAK the client recognises.
#include <gtest/gtest.h>

#include <algorithm>
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
        Bytes buf(2048);
        buf[0] = std::byte{0x23};  // LI 0, version 4, mode 3
        auto c = cookie();
        auto n = write_client_request(siv, session, uid, c, placeholders, buf);
        EXPECT_TRUE(n) << n.error().what;
        buf.resize(n ? *n : 0);
        return buf;
    }
};

// The server's answer to one request: the exchange, and the reply cut to its length.
struct Answer {
    Bytes reply = Bytes(2048);
    ServerExchange x;
};
Answer answer(NtsServer& server, const CookieKeys& keys, const Bytes& req) {
    Answer a;
    a.reply[0] = std::byte{0x24};  // mode 4: the header a responder wrote
    a.x.request = req;
    a.x.reply = a.reply;
    server.answer(keys, std::span(&a.x, 1));
    a.reply.resize(a.x.verdict == ServerExchange::Verdict::answered ? a.x.length : 0);
    return a;
}
Bytes response(World& w, const Bytes& req) {
    NtsServer server;
    auto a = answer(server, w.server_keys, req);
    EXPECT_EQ(a.x.verdict, ServerExchange::Verdict::answered) << a.x.what;
    return a.reply;
}

}  // namespace

TEST(NtsFields, RequestAndResponseRoundTripWithTheCookiesAskedFor) {
    World w;
    NtsServer server;
    for (int placeholders : {0, 1, 7, 8}) {
        auto req = w.request(placeholders);
        EXPECT_EQ(req.size(), 48 + 36 + 108 * (1 + placeholders) + 40u);
        auto a = answer(server, w.server_keys, req);
        ASSERT_EQ(a.x.verdict, ServerExchange::Verdict::answered) << a.x.what;
        EXPECT_EQ(a.x.cookies, std::min(1 + placeholders, 8));  // never more than 8
        EXPECT_TRUE(std::equal(a.x.uid.begin(), a.x.uid.end(), w.uid.begin(), w.uid.end()));
        EXPECT_LE(a.reply.size(), req.size());  // padded to the request's length, never longer
        if (placeholders < 8) EXPECT_EQ(a.reply.size(), req.size());
        auto cookies = read_server_response(w.siv, w.session, w.uid, a.reply);
        ASSERT_TRUE(cookies) << cookies.error().what;
        EXPECT_EQ(cookies->size(), static_cast<std::size_t>(a.x.cookies));
        for (const auto& c : *cookies) {  // usable next time: the client's own keys
            auto s = open_cookie(w.siv, w.server_keys, c);
            ASSERT_TRUE(s) << s.error().what;
            EXPECT_TRUE(*s == w.session);
        }
    }
}

TEST(NtsFields, AFlippedBitAnywhereInTheRequestIsRefused) {
    World w;
    NtsServer server;
    auto req = w.request(1);
    for (std::size_t bit = 0; bit < req.size() * 8; ++bit) {
        auto t = req;
        t[bit / 8] ^= std::byte(1u << (bit % 8));
        EXPECT_NE(answer(server, w.server_keys, t).x.verdict, ServerExchange::Verdict::answered)
            << "bit " << bit << " of " << req.size() * 8;
    }
}

TEST(NtsFields, AFlippedBitAnywhereInTheResponseOrAnotherUidIsRefused) {
    World w;
    auto req = w.request(0);
    auto resp = response(w, req);
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
    NtsServer server;
    auto a = answer(server, w.server_keys, req);
    ASSERT_EQ(a.x.verdict, ServerExchange::Verdict::nak);
    EXPECT_EQ(a.x.what.rfind("cookie: unknown cookie key ", 0), 0u) << a.x.what;
    EXPECT_TRUE(std::equal(a.x.uid.begin(), a.x.uid.end(), w.uid.begin(), w.uid.end()));

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
    NtsServer server;
    Bytes plain(48);
    plain[0] = std::byte{0x23};
    EXPECT_EQ(answer(server, w.server_keys, plain).x.verdict, ServerExchange::Verdict::plain);

    auto req = w.request(0);
    Bytes no_auth(req.begin(), req.end() - 40);  // UID and cookie, no authenticator
    auto a = answer(server, w.server_keys, no_auth);
    EXPECT_EQ(a.x.verdict, ServerExchange::Verdict::dropped);
    EXPECT_EQ(a.x.what, "no authenticator");

    Bytes forged = req;  // a cookie that does not open: a NAK, with the request's UID
    forged[48 + 36 + 4 + 30] ^= std::byte{1};
    a = answer(server, w.server_keys, forged);
    EXPECT_EQ(a.x.verdict, ServerExchange::Verdict::nak);
    EXPECT_EQ(a.x.what, "cookie: authentication failed");
    Bytes bad_auth = req;  // an authenticator that does not open: a NAK too
    bad_auth[bad_auth.size() - 3] ^= std::byte{1};
    a = answer(server, w.server_keys, bad_auth);
    EXPECT_EQ(a.x.verdict, ServerExchange::Verdict::nak);
    EXPECT_EQ(a.x.what, "authenticator: authentication failed");
}

// A batch is answered a step at a time for all its requests (their AES work side by side,
// each under its own client's keys): each request gets what it would get alone, whatever the
// others are — eleven requests (more than one group of eight) from eleven clients, among them
// a plain one, a forged one and one with a rotated-out cookie.
TEST(NtsFields, ABatchAnswersEachRequestAsItWouldBeAnsweredAlone) {
    CookieKeys keys;
    rotate_cookie_keys(keys, 1'700'000'000, 2);
    CookieKeys old_keys;
    rotate_cookie_keys(old_keys, 1'600'000'000, 0);  // a key the server no longer has
    constexpr std::size_t kRequests = 11;
    std::array<World, kRequests> clients;
    std::vector<Bytes> requests(kRequests), replies(kRequests, Bytes(1024));
    std::vector<ServerExchange> batch(kRequests);
    for (std::size_t i = 0; i < kRequests; ++i) {
        World& c = clients[i];
        auto copy = parse_cookie_keys(format_cookie_keys(i == 7 ? old_keys : keys));
        ASSERT_TRUE(copy);
        c.server_keys.keys = std::move(copy->keys);
        requests[i] = c.request(static_cast<int>(i % 3));
        batch[i].request = requests[i];
        batch[i].reply = replies[i];
    }
    requests[2].resize(48);  // plain NTP
    batch[2].request = requests[2];
    requests[4][60] ^= std::byte{4};  // its UID: the authenticator does not open
    NtsServer server;
    server.answer(keys, batch);
    for (std::size_t i = 0; i < kRequests; ++i) {
        const ServerExchange& x = batch[i];
        if (i == 2) {
            EXPECT_EQ(x.verdict, ServerExchange::Verdict::plain);
        } else if (i == 4 || i == 7) {
            EXPECT_EQ(x.verdict, ServerExchange::Verdict::nak) << i;
            if (i == 4) EXPECT_EQ(x.what, "authenticator: authentication failed");
            else EXPECT_EQ(x.what.rfind("cookie: unknown cookie key ", 0), 0u) << x.what;
        } else {
            ASSERT_EQ(x.verdict, ServerExchange::Verdict::answered) << i << ": " << x.what;
            EXPECT_EQ(x.cookies, static_cast<int>(1 + i % 3));
            Bytes reply(replies[i].begin(), replies[i].begin() + static_cast<std::ptrdiff_t>(x.length));
            auto cookies = read_server_response(clients[i].siv, clients[i].session, clients[i].uid, reply);
            ASSERT_TRUE(cookies) << i << ": " << cookies.error().what;
            auto s = open_cookie(clients[i].siv, keys, cookies->front());
            ASSERT_TRUE(s);
            EXPECT_TRUE(*s == clients[i].session) << i;  // its own keys, not a neighbour's
            // and only its own keys open it
            const std::size_t other = (i + 1) % kRequests;
            EXPECT_FALSE(read_server_response(clients[other].siv, clients[other].session, clients[i].uid, reply)) << i;
        }
    }
}

// The server sets up a client's two keys for each message and keeps neither: every message
// pays for its own keys, and no client's keys stay set up for the next message. A request
// refused at its authenticator never has its S2C key set up.
TEST(NtsFields, TheServerSetsUpClientKeysPerMessageAndKeepsNone) {
    World w;  // w.siv is the client's
    NtsServer server;
    for (int i = 0; i < 3; ++i) {
        Bytes req = w.request(0);
        const auto before = server.siv().key_set_ups();
        auto a = answer(server, w.server_keys, req);
        ASSERT_EQ(a.x.verdict, ServerExchange::Verdict::answered) << a.x.what;
        EXPECT_TRUE(read_server_response(w.siv, w.session, w.uid, a.reply));
        EXPECT_EQ(server.siv().key_set_ups() - before, i == 0 ? 3u : 2u) << "message " << i;  // + the cookie key once
    }
    Bytes tampered = w.request(0);
    tampered.back() ^= std::byte{1};
    auto before = server.siv().key_set_ups();
    EXPECT_EQ(answer(server, w.server_keys, tampered).x.verdict, ServerExchange::Verdict::nak);
    EXPECT_EQ(server.siv().key_set_ups() - before, 1u);
    before = server.siv().key_set_ups();
    EXPECT_EQ(answer(server, w.server_keys, w.request(0)).x.verdict, ServerExchange::Verdict::answered);
    EXPECT_EQ(server.siv().key_set_ups() - before, 2u);
}

// ntp-serve checks a whole batch, then writes each reply's header (its transmit time read just
// before) and seals the replies a group at a time: the authenticator covers the header as it is
// at seal(), each group's responses open at their clients, and one sealed already or never
// checked is passed over.
TEST(NtsFields, CheckedOnceThenSealedInGroupsAfterTheHeadersAreWritten) {
    CookieKeys keys;
    rotate_cookie_keys(keys, 1'700'000'000, 2);
    constexpr std::size_t kRequests = 5;
    std::array<World, kRequests> clients;
    std::vector<Bytes> requests(kRequests), replies(kRequests, Bytes(2048));
    std::vector<ServerExchange> batch(kRequests);
    for (std::size_t i = 0; i < kRequests; ++i) {
        auto copy = parse_cookie_keys(format_cookie_keys(keys));
        ASSERT_TRUE(copy);
        clients[i].server_keys.keys = std::move(copy->keys);
        requests[i] = clients[i].request(0);
        batch[i].request = requests[i];
        batch[i].reply = replies[i];
    }
    NtsServer server;
    server.check(keys, batch);
    for (std::size_t i = 0; i < kRequests; ++i) {
        ASSERT_EQ(batch[i].verdict, ServerExchange::Verdict::answered) << batch[i].what;
        EXPECT_EQ(batch[i].length, 0u);  // not sealed yet
    }
    auto write_header = [&](std::size_t i) {
        replies[i][0] = std::byte{0x24};
        for (std::size_t k = 40; k < 48; ++k) replies[i][k] = std::byte(0xA0 + i);  // its transmit time
    };
    for (std::size_t group : {0u, 2u}) {
        const std::size_t end = std::min<std::size_t>(group == 0 ? 2 : kRequests, kRequests);
        for (std::size_t i = group; i < end; ++i) write_header(i);
        server.seal(std::span(batch).subspan(group, end - group));
    }
    const std::size_t sealed_length = batch[0].length;
    server.seal(std::span(batch).first(1));  // again: passed over
    EXPECT_EQ(batch[0].length, sealed_length);
    for (std::size_t i = 0; i < kRequests; ++i) {
        ASSERT_EQ(batch[i].verdict, ServerExchange::Verdict::answered) << i;
        Bytes reply(replies[i].begin(), replies[i].begin() + static_cast<std::ptrdiff_t>(batch[i].length));
        EXPECT_EQ(reply[40], std::byte(0xA0 + i));
        EXPECT_TRUE(read_server_response(clients[i].siv, clients[i].session, clients[i].uid, reply)) << i;
        reply[41] ^= std::byte{1};  // the header is authenticated as written before seal()
        EXPECT_FALSE(read_server_response(clients[i].siv, clients[i].session, clients[i].uid, reply)) << i;
    }
    ServerExchange stranger;  // never checked
    Bytes other(2048);
    stranger.request = requests[0];
    stranger.reply = other;
    stranger.verdict = ServerExchange::Verdict::answered;
    server.seal(std::span(&stranger, 1));
    EXPECT_EQ(stranger.length, 0u);
}
