// libsodium wrappers: RFC 8032 Ed25519 test vectors, context-prefixed signatures, FIPS 180-4
// SHA-512 vectors (one-shot and incremental), random bytes, and SecretBytes hygiene.
#include "libtime/base/crypto.hpp"

#include <cmath>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/test_support.hpp"

namespace timepipe::crypto {
namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::hex;
using timepipe::test::test_seed;

template <std::size_t N>
Bytes to_bytes(const std::array<std::byte, N>& a) { return Bytes(a.begin(), a.end()); }

std::span<const std::byte, 32> seed_of(const Bytes& b) { return std::span<const std::byte, 32>(b.data(), 32); }

TEST(Crypto, InitIsIdempotent) {
    EXPECT_TRUE(init());
    EXPECT_TRUE(init());
}

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one octet).
TEST(Crypto, Ed25519Rfc8032Vectors) {
    const Bytes seed1 = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
    auto kp1 = ed25519_from_seed(seed_of(seed1));
    EXPECT_EQ(to_bytes(kp1.public_key), hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
    const auto sig1 = ed25519_sign(kp1.secret_key, {}, {});
    EXPECT_EQ(to_bytes(sig1), hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"));
    EXPECT_TRUE(ed25519_verify(kp1.public_key, {}, {}, sig1));

    const Bytes seed2 = hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
    auto kp2 = ed25519_from_seed(seed_of(seed2));
    EXPECT_EQ(to_bytes(kp2.public_key), hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"));
    const Bytes msg2 = hex("72");
    const auto sig2 = ed25519_sign(kp2.secret_key, {}, msg2);
    EXPECT_EQ(to_bytes(sig2), hex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"));
    // The context is a prefix of the signed message: split anywhere, same signature.
    EXPECT_TRUE(ed25519_verify(kp2.public_key, msg2, {}, sig2));
    EXPECT_FALSE(ed25519_verify(kp1.public_key, {}, msg2, sig2));
}

TEST(Crypto, ContextMattersAndLongMessagesWork) {
    auto kp = ed25519_generate();
    const Bytes ctx = hex("0102");
    Bytes big(5000, std::byte{0x5a});  // past the stack buffer
    const auto sig = ed25519_sign(kp.secret_key, ctx, big);
    EXPECT_TRUE(ed25519_verify(kp.public_key, ctx, big, sig));
    EXPECT_FALSE(ed25519_verify(kp.public_key, {}, big, sig));
    big[4999] ^= std::byte{1};
    EXPECT_FALSE(ed25519_verify(kp.public_key, ctx, big, sig));
}

// FIPS 180-4 examples: "abc" and the empty string.
TEST(Crypto, Sha512Vectors) {
    const Bytes abc = hex("616263");
    const Bytes want = hex("ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    EXPECT_EQ(to_bytes(sha512(abc)), want);
    EXPECT_EQ(to_bytes(sha512(hex("61"), hex("6263"))), want);
    EXPECT_EQ(to_bytes(Sha512().update(hex("6162")).update(hex("63")).finish()), want);
    EXPECT_EQ(to_bytes(sha512({})), hex("cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e"));
}

TEST(Crypto, IncrementalEqualsOneShotRandomly) {
    std::mt19937_64 rng(test_seed("crypto_test"));
    for (int i = 0; i < 200; ++i) {
        Bytes data(rng() % 600);
        for (auto& b : data) b = static_cast<std::byte>(rng());
        const std::size_t cut = data.empty() ? 0 : rng() % data.size();
        const auto a = std::span<const std::byte>(data).first(cut);
        const auto b = std::span<const std::byte>(data).subspan(cut);
        EXPECT_EQ(sha512(data), sha512(a, b));
    }
}

TEST(Crypto, RandomBytesAreNotConstant) {
    Bytes a(32), b(32);
    random_bytes(a);
    random_bytes(b);
    EXPECT_NE(a, b);
}

TEST(Crypto, SecretBytesNeverPrintAndAreWipedWhenMoved) {
    const Bytes raw = hex("0011223344556677 8899aabbccddeeff");
    SecretBytes<16> s(std::span<const std::byte, 16>(raw.data(), 16));
    std::ostringstream os;
    os << s;
    EXPECT_EQ(os.str(), "<secret 16 bytes>");
    EXPECT_EQ(::testing::PrintToString(s), "<secret 16 bytes>");
    SecretBytes<16> t(std::move(s));
    EXPECT_EQ(Bytes(t.span().begin(), t.span().end()), raw);
    EXPECT_EQ(Bytes(s.span().begin(), s.span().end()), Bytes(16));  // NOLINT: moved-from is zeroed
    static_assert(!std::is_copy_constructible_v<SecretBytes<16>>);
}

TEST(Crypto, SeedGivesTheSameKeyEveryTime) {
    const Bytes seed(32, std::byte{9});
    EXPECT_EQ(ed25519_from_seed(seed_of(seed)).public_key, ed25519_from_seed(seed_of(seed)).public_key);
    EXPECT_NE(ed25519_generate().public_key, ed25519_generate().public_key);
}

}  // namespace
}  // namespace timepipe::crypto

// RandomPool: 16-octet nonces over many refills never repeat, two pools never agree, and the
// bytes look uniform (each octet value within 6 sigma of its expected count over 1 MiB).
TEST(RandomPool, NoncesAcrossRefillsAreDistinctAndUniform) {
    timepipe::crypto::RandomPool a, b;
    std::set<std::array<std::byte, 16>> seen;
    std::array<std::size_t, 256> counts{};
    const std::size_t draws = 65536;  // 1 MiB: 256 refills
    for (std::size_t i = 0; i < draws; ++i) {
        std::array<std::byte, 16> n{}, m{};
        a.fill(n);
        b.fill(m);
        EXPECT_TRUE(seen.insert(n).second) << "repeated at draw " << i;
        EXPECT_NE(n, m);
        for (auto x : n) ++counts[std::to_integer<std::size_t>(x)];
    }
    const double expected = draws * 16.0 / 256, sigma = std::sqrt(expected);
    for (std::size_t v = 0; v < 256; ++v)
        EXPECT_NEAR(static_cast<double>(counts[v]), expected, 6 * sigma) << "octet value " << v;
}
