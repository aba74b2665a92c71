// libtime/nts/client_session: the client's cookie jar through exchanges with the server side of
// libtime/nts/ntp_fields — each request spends a cookie and asks for what the jar lacks, each
// authentic answer refills it to 8, a replayed answer is refused, a NAK empties the jar.
#include <gtest/gtest.h>

#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/nts/client_session.hpp"
#include "libtime/nts/ntp_fields.hpp"

using namespace timepipe;
using namespace timepipe::nts;

namespace {

using Bytes = std::vector<std::byte>;

struct Server {
    NtsServer nts;
    Siv& siv = nts.siv();
    CookieKeys keys;
    Server() { rotate_cookie_keys(keys, 1, 2); }
    Bytes answer(const Bytes& req) {
        Bytes out(1280);
        out[0] = std::byte{0x24};
        ServerExchange x;
        x.request = req;
        x.reply = out;
        nts.answer(keys, std::span(&x, 1));
        EXPECT_EQ(x.verdict, ServerExchange::Verdict::answered) << x.what;
        out.resize(x.verdict == ServerExchange::Verdict::answered ? x.length : 0);
        return out;
    }
};

ClientSession fresh_session(Server& s, int cookies) {
    Bytes c2s(32), s2c(32);
    crypto::random_bytes(c2s);
    crypto::random_bytes(s2c);
    SessionKeys keys(AeadAlgorithm::aes_siv_cmac_256, c2s, s2c);
    std::vector<Cookie> jar;
    for (int i = 0; i < cookies; ++i) jar.push_back(seal_cookie(s.siv, s.keys.current(), keys));
    return ClientSession(keys, jar);
}

Bytes request(ClientSession& c, Siv& siv) {
    Bytes buf(1280);
    buf[0] = std::byte{0x23};
    auto n = c.write_request(siv, buf);
    EXPECT_TRUE(n) << n.error().what;
    buf.resize(n ? *n : 0);
    return buf;
}

}  // namespace

TEST(NtsClientSession, EachExchangeSpendsOneCookieAndRefillsTheJarToEight) {
    Server s;
    Siv siv;
    auto c = fresh_session(s, 10);  // more than 8 from a key exchange: 8 kept
    EXPECT_EQ(c.cookies(), 8u);
    auto req = request(c, siv);
    EXPECT_EQ(c.cookies(), 7u);
    EXPECT_EQ(req.size(), 48 + 36 + 108 + 40u);  // 7 left: no placeholder
    EXPECT_EQ(c.read_response(siv, s.answer(req)), ResponseVerdict::ok);
    EXPECT_EQ(c.cookies(), 8u);

    auto low = fresh_session(s, 2);
    req = request(low, siv);  // 1 left: ask for 7 (cookie + 6 placeholders)
    EXPECT_EQ(req.size(), 48 + 36 + 7 * 108 + 40u);
    auto resp = s.answer(req);
    EXPECT_EQ(low.read_response(siv, resp), ResponseVerdict::ok);
    EXPECT_EQ(low.cookies(), 8u);
    std::string why;
    EXPECT_EQ(low.read_response(siv, resp, &why), ResponseVerdict::invalid);  // a replay
    EXPECT_EQ(why, "no request outstanding");
}

TEST(NtsClientSession, ANakEmptiesTheJarAnEmptyJarWritesNothing) {
    Server s;
    Siv siv;
    auto c = fresh_session(s, 1);
    auto req = request(c, siv);
    EXPECT_TRUE(c.empty());
    Bytes nak(1280);
    nak[0] = std::byte{0x24};
    const char code[] = "NTSN";
    for (int i = 0; i < 4; ++i) nak[12 + i] = std::byte(code[i]);
    Bytes uid(req.begin() + 52, req.begin() + 84);
    nak.resize(*write_nak(uid, nak));
    auto other = nak;
    other[60] ^= std::byte{1};  // someone else's UID: not ours to act on
    EXPECT_EQ(c.read_response(siv, other), ResponseVerdict::invalid);
    EXPECT_EQ(c.read_response(siv, nak), ResponseVerdict::nak);
    Bytes buf(1280);
    auto n = c.write_request(siv, buf);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().what, "no NTS cookie left");
}
