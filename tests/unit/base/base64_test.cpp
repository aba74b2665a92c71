// libtime/base/base64: RFC 4648 §10 vectors, both alphabets with and without padding, strict
// rejections, hex, and random round trips (TIMEPIPE_SEED=N replays).
#include "libtime/base/base64.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/test_support.hpp"

namespace timepipe {
namespace {

using timepipe::test::test_seed;

TEST(Base64, KnownValues) {
    // RFC 4648 §10.
    const std::pair<const char*, const char*> cases[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
    for (auto [plain, b64] : cases) {
        std::string_view p(plain);
        std::vector<std::byte> bytes(p.size());
        if (!p.empty()) std::memcpy(bytes.data(), p.data(), p.size());
        EXPECT_EQ(base64_encode(bytes), b64);
        EXPECT_EQ(base64_decode(b64), bytes) << b64;
        std::string unpadded(b64);
        while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
        EXPECT_EQ(base64_decode(unpadded), bytes) << unpadded;
    }
    // URL-safe alphabet: 0xfb 0xff -> "-_8" (standard "+/8").
    EXPECT_EQ(base64_decode("-_8="), test::hex("fb ff"));
    EXPECT_EQ(base64_decode("+/8="), test::hex("fb ff"));
    EXPECT_EQ(base64_decode("-_8"), test::hex("fb ff"));
}

TEST(Base64, Rejects) {
    for (const char* bad : {"Zg=", "Zg===", "Z", "Zm9v Yg==", "Zm9\nv", "+_8=", "Zh==", "Zm9=",
                            "Zm9v!", "=Zm9", "Zg==Zg==", "Zm8=="})
        EXPECT_FALSE(base64_decode(bad)) << bad;
}

TEST(Hex, DecodeAndReject) {
    EXPECT_EQ(hex_decode("00ff7Fa0"), test::hex("00 ff 7f a0"));
    EXPECT_EQ(hex_decode(""), std::vector<std::byte>{});
    for (const char* bad : {"0", "0g", "00 ff", "0x00", "fff"})
        EXPECT_FALSE(hex_decode(bad)) << bad;
}

TEST(Hex, EncodeIsLowerCaseAndRoundTrips) {
    EXPECT_EQ(hex_encode(test::hex("00 ff 7f a0")), "00ff7fa0");
    EXPECT_EQ(hex_encode({}), "");
    auto bytes = test::hex("0123456789abcdef fedcba98");
    EXPECT_EQ(hex_decode(hex_encode(bytes)), bytes);
}

TEST(Base64, RandomRoundTrip) {
    std::mt19937_64 rng(test_seed("base64_test"));
    for (int round = 0; round < 500; ++round) {
        std::vector<std::byte> bytes(rng() % 70);
        for (auto& b : bytes) b = static_cast<std::byte>(rng());
        std::string b64 = base64_encode(bytes);
        EXPECT_EQ(b64.size() % 4, 0u);
        EXPECT_EQ(base64_decode(b64), bytes) << b64;
        // URL-safe, unpadded spelling of the same bytes.
        std::string url = b64;
        for (auto& c : url) c = c == '+' ? '-' : c == '/' ? '_' : c;
        while (!url.empty() && url.back() == '=') url.pop_back();
        EXPECT_EQ(base64_decode(url), bytes) << url;
        // Any single corrupted character makes it invalid or different.
        if (!b64.empty()) {
            std::string bad = b64;
            bad[rng() % bad.size()] = "!*. "[rng() % 4];
            EXPECT_FALSE(base64_decode(bad)) << bad;
        }
    }
}

}  // namespace
}  // namespace timepipe
