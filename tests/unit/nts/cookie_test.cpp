// libtime/nts/cookie: the server's key file (parse, format, rotate), cookies sealed under the
// current key and opened by any holder of the file, cookies of rotated-out keys and damaged
// cookies refused with their reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "libtime/nts/cookie.hpp"

using namespace timepipe;
using namespace timepipe::nts;

namespace {

SessionKeys session(AeadAlgorithm a = AeadAlgorithm::aes_siv_cmac_256) {
    std::vector<std::byte> c2s(aead_key_size(a)), s2c(aead_key_size(a));
    for (std::size_t i = 0; i < c2s.size(); ++i) {
        c2s[i] = std::byte(i);
        s2c[i] = std::byte(0xA0 ^ i);
    }
    return SessionKeys(a, c2s, s2c);
}

CookieKeys fresh_keys() {
    CookieKeys k;
    rotate_cookie_keys(k, 1'700'000'000, 2);
    return k;
}

}  // namespace

TEST(NtsCookie, KeyFileRoundTripsAndNamesItsErrors) {
    auto keys = fresh_keys();
    rotate_cookie_keys(keys, 1'700'086'400, 2);
    auto text = format_cookie_keys(keys);
    auto back = parse_cookie_keys(text);
    ASSERT_TRUE(back) << back.error().what;
    ASSERT_EQ(back->keys.size(), 2u);
    EXPECT_EQ(back->current().id, keys.current().id);
    EXPECT_EQ(back->current().created, 1'700'086'400);
    EXPECT_TRUE(std::equal(back->keys[0].key.span().begin(), back->keys[0].key.span().end(), keys.keys[0].key.span().begin()));

    auto err = [](const std::string& t) {
        auto r = parse_cookie_keys(t);
        return r ? std::string("accepted") : r.error().what;
    };
    const std::string key(64, 'a');
    EXPECT_EQ(err(""), "no keys");
    EXPECT_EQ(err("# only a comment\n\n"), "no keys");
    EXPECT_EQ(err("0000000g " + key + " 1\n"), "line 1: the key id is not 8 hex digits");
    EXPECT_EQ(err("# c\n00000001 " + key.substr(2) + " 1\n"), "line 2: the key is not 64 hex digits");
    EXPECT_EQ(err("00000001 " + key + " -5\n"), "line 1: the creation time is not Unix seconds");
    EXPECT_EQ(err("00000001 " + key + " 1 x\n"), "line 1: more than three words");
    EXPECT_EQ(err("00000001 " + key + " 1\n00000001 " + key + " 2\n"), "line 2: key id 00000001 appears twice");
    EXPECT_EQ(err("00000001 " + key + " 1\r\n"), "accepted");
}

TEST(NtsCookie, RotationKeepsTheNewestOldKeys) {
    CookieKeys keys;
    std::vector<std::uint32_t> ids;
    for (int i = 0; i < 5; ++i) {
        rotate_cookie_keys(keys, 1000 + i, 2);
        ids.push_back(keys.current().id);
    }
    ASSERT_EQ(keys.keys.size(), 3u);  // current and two old
    EXPECT_EQ(keys.keys[0].id, ids[2]);
    EXPECT_EQ(keys.keys[1].id, ids[3]);
    EXPECT_EQ(keys.current().id, ids[4]);
    EXPECT_EQ(keys.current().created, 1004);
}

TEST(NtsCookie, SealedCookieOpensWithTheSameKeysAnywhere) {
    Siv siv;
    auto keys = fresh_keys();
    for (auto a : {AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512}) {
        auto s = session(a);
        auto c = seal_cookie(siv, keys.current(), s);
        EXPECT_EQ(c.size(), cookie_size(a));
        // another process reading the same key file opens it
        auto other = parse_cookie_keys(format_cookie_keys(keys));
        ASSERT_TRUE(other);
        Siv siv2;
        auto opened = open_cookie(siv2, *other, c);
        ASSERT_TRUE(opened) << opened.error().what;
        EXPECT_TRUE(*opened == s);
        EXPECT_EQ(opened->aead(), a);
        // two cookies of one session differ (fresh nonce), so a client's cookies are unlinkable
        EXPECT_NE(seal_cookie(siv, keys.current(), s), c);
    }
    EXPECT_EQ(cookie_size(AeadAlgorithm::aes_siv_cmac_256), 104u);
    EXPECT_EQ(cookie_size(AeadAlgorithm::aes_siv_cmac_512), 168u);
}

TEST(NtsCookie, OldKeysStillOpenRotatedOutKeysAndDamageDoNot) {
    Siv siv;
    auto keys = fresh_keys();
    auto c = seal_cookie(siv, keys.current(), session());
    rotate_cookie_keys(keys, 2, 1);  // the old key kept
    EXPECT_TRUE(open_cookie(siv, keys, c));
    rotate_cookie_keys(keys, 3, 1);  // now gone
    auto gone = open_cookie(siv, keys, c);
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().what.rfind("unknown cookie key ", 0), 0u) << gone.error().what;

    auto k2 = fresh_keys();
    auto c2 = seal_cookie(siv, k2.current(), session());
    for (std::size_t i = 4; i < c2.size(); ++i) {  // a flipped bit past the key id
        auto d = c2;
        d[i] ^= std::byte{0x10};
        auto r = open_cookie(siv, k2, d);
        ASSERT_FALSE(r) << i;
        EXPECT_EQ(r.error().what, "authentication failed");
    }
    auto shortc = std::vector<std::byte>(c2.begin(), c2.end() - 1);
    auto r = open_cookie(siv, k2, shortc);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "cookie of 103 octets");
}
