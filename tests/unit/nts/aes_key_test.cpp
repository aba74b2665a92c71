// libtime/nts/aes_key: AES-128 and AES-256 against FIPS 197's and SP 800-38A's vectors (ECB and
// CBC, the last CBC block being the CBC-MAC), on AES-NI and on OpenSSL's AES; both backends agree
// on random keys and lengths; a key changed between uses takes effect.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "libtime/nts/aes_key.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe::nts;
using timepipe::test::hex;

namespace {

using Bytes = std::vector<std::byte>;

const unsigned char* u8(const Bytes& b) { return reinterpret_cast<const unsigned char*>(b.data()); }
unsigned char* u8(Bytes& b) { return reinterpret_cast<unsigned char*>(b.data()); }

Bytes ecb(AesBackend backend, const Bytes& key, const Bytes& plain) {
    AesKey k(backend);
    EXPECT_TRUE(k.ok());
    k.set(key);
    Bytes out(plain.size());
    EXPECT_TRUE(k.encrypt_blocks(u8(plain), u8(out), plain.size() / 16));
    return out;
}

Bytes cbc_mac(AesKey& k, const Bytes& iv, const Bytes& plain) {
    Bytes mac(16);
    EXPECT_TRUE(k.cbc_mac(u8(iv), u8(plain), plain.size() / 16, u8(mac)));
    return mac;
}

class AesKeyOn : public ::testing::TestWithParam<AesBackend> {};

// SP 800-38A F.1 and F.2: the same four plaintext blocks for ECB and CBC.
const Bytes kPlain = hex("6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51"
                         "30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710");
const Bytes kKey128 = hex("2b7e151628aed2a6abf7158809cf4f3c");
const Bytes kKey256 = hex("603deb1015ca71be2b73aef0857d7781 1f352c073b6108d72d9810a30914dff4");
const Bytes kIv = hex("000102030405060708090a0b0c0d0e0f");

}  // namespace

INSTANTIATE_TEST_SUITE_P(Backends, AesKeyOn, ::testing::Values(AesBackend::best, AesBackend::openssl),
                         [](const auto& backend) { return backend.param == AesBackend::best ? "best" : "openssl"; });

TEST_P(AesKeyOn, Fips197AppendixC) {
    const Bytes plain = hex("00112233445566778899aabbccddeeff");
    EXPECT_EQ(ecb(GetParam(), hex("000102030405060708090a0b0c0d0e0f"), plain), hex("69c4e0d86a7b0430d8cdb78070b4c55a"));
    EXPECT_EQ(ecb(GetParam(), hex("000102030405060708090a0b0c0d0e0f 101112131415161718191a1b1c1d1e1f"), plain),
              hex("8ea2b7ca516745bfeafc49904b496089"));
}

// Four blocks at once (the AES-NI path's interleaved loop) and each block alone agree.
TEST_P(AesKeyOn, Sp800_38aEcb) {
    EXPECT_EQ(ecb(GetParam(), kKey128, kPlain), hex("3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf"
                                                    "43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4"));
    EXPECT_EQ(ecb(GetParam(), kKey256, kPlain), hex("f3eed1bdb5d2a03c064b5a7e3db181f8 591ccb10d410ed26dc5ba74a31362870"
                                                    "b6ed21b99ca6f4f9f153e7b1beafed1d 23304b7a39f9f3ff067d8d8f9e24ecc7"));
}

TEST_P(AesKeyOn, Sp800_38aCbcLastBlockIsTheCbcMac) {
    AesKey k(GetParam());
    k.set(kKey128);
    EXPECT_EQ(cbc_mac(k, kIv, kPlain), hex("3ff1caa1681fac09120eca307586e1a7"));
    // the same key again, and the first block alone: the chain starts from the IV every time
    EXPECT_EQ(cbc_mac(k, kIv, Bytes(kPlain.begin(), kPlain.begin() + 16)), hex("7649abac8119b246cee98e9b12e9197d"));
    k.set(kKey256);
    EXPECT_EQ(cbc_mac(k, kIv, kPlain), hex("b2eb05e2c39be9fcda6c19078c6a9d1b"));
    k.set(kKey128);  // back to the smaller key: the schedule (OpenSSL: the cipher) follows
    EXPECT_EQ(cbc_mac(k, kIv, kPlain), hex("3ff1caa1681fac09120eca307586e1a7"));
}

// AES-NI and OpenSSL on random keys, IVs and 1..9 blocks, for both key sizes, keys changed
// between uses and each key used both ways.
TEST(AesKey, BackendsAgreeOnRandomInputs) {
    AesKey best(AesBackend::best), openssl(AesBackend::openssl);
    std::mt19937 rng(20261206);
    auto random = [&](std::size_t n) { return timepipe::test::random_bytes(rng, n); };
    for (int i = 0; i < 200; ++i) {
        const Bytes key = random(i % 2 ? 32 : 16), iv = random(16), plain = random(16 * (1 + i % 9));
        best.set(key);
        openssl.set(key);
        EXPECT_EQ(cbc_mac(best, iv, plain), cbc_mac(openssl, iv, plain)) << i;
        Bytes a(plain.size()), b(plain.size());
        ASSERT_TRUE(best.encrypt_blocks(u8(plain), u8(a), plain.size() / 16));
        ASSERT_TRUE(openssl.encrypt_blocks(u8(plain), u8(b), plain.size() / 16));
        EXPECT_EQ(a, b) << i;
        Bytes in_place = plain;  // out may be in
        ASSERT_TRUE(best.encrypt_blocks(u8(in_place), u8(in_place), in_place.size() / 16));
        EXPECT_EQ(in_place, a) << i;
    }
}

// The fast path is the one taken where the CPU offers it (else both runs above tested OpenSSL).
TEST(AesKey, AesNiIsUsedWhereTheCpuHasIt) {
#if defined(__x86_64__)
    EXPECT_STREQ(aes_backend_name(AesBackend::best), __builtin_cpu_supports("aes") ? "aes-ni" : "openssl");
#else
    EXPECT_STREQ(aes_backend_name(AesBackend::best), "openssl");
#endif
    EXPECT_STREQ(aes_backend_name(AesBackend::openssl), "openssl");
}

// Chains side by side (AesKey::cbc_macs) give each chain's CBC-MAC under its own key, as
// OpenSSL computes it alone: 1 to 6 keys (one key for all chains in a sixth of the rounds),
// 1 to 40 chains (more than 16 run in parts, more than 4 refill the lanes as chains end), 0 to
// 13 blocks, keys of both sizes mixed in one call, some keys expanded before and some not.
TEST_P(AesKeyOn, KeyedChainsSideBySideEqualEachAloneOnOpenssl) {
    std::mt19937 rng(7);
    auto random = [&](std::size_t n) { return timepipe::test::random_bytes(rng, n); };
    for (int round = 0; round < 200; ++round) {
        const std::size_t n_keys = 1 + rng() % 6;
        std::vector<std::unique_ptr<AesKey>> keys, references;
        for (std::size_t i = 0; i < n_keys; ++i) {
            const Bytes key = random(rng() % 2 ? 32 : 16);
            keys.push_back(std::make_unique<AesKey>(GetParam()));
            keys.back()->set(key);
            references.push_back(std::make_unique<AesKey>(AesBackend::openssl));
            references.back()->set(key);
            if (rng() % 3 == 0) {  // already expanded by a use
                Bytes scratch(16);
                ASSERT_TRUE(keys.back()->encrypt_blocks(u8(scratch), u8(scratch), 1));
            }
        }
        const std::size_t count = 1 + rng() % 40;
        std::vector<Bytes> ivs, inputs, macs(count, Bytes(16));
        std::vector<std::size_t> key_of;
        std::vector<AesKey::KeyedChain> chains;
        for (std::size_t c = 0; c < count; ++c) {
            ivs.push_back(random(16));
            inputs.push_back(random(16 * (rng() % 14)));
            key_of.push_back(rng() % n_keys);
        }
        for (std::size_t c = 0; c < count; ++c)
            chains.push_back({keys[key_of[c]].get(), {u8(ivs[c]), u8(inputs[c]), inputs[c].size() / 16, u8(macs[c])}});
        ASSERT_TRUE(AesKey::cbc_macs(chains));
        for (std::size_t c = 0; c < count; ++c) {
            const Bytes alone = inputs[c].empty() ? ivs[c] : cbc_mac(*references[key_of[c]], ivs[c], inputs[c]);
            EXPECT_EQ(macs[c], alone) << "round " << round << " chain " << c << " of " << count;
        }
    }
}

// Keys set up together (1 to 6, sizes mixed, some already used) are set up at once (AES-NI) and
// work as keys set up alone.
TEST_P(AesKeyOn, KeysExpandedTogetherEqualKeysExpandedAlone) {
    std::mt19937 rng(9);
    auto random = [&](std::size_t n) { return timepipe::test::random_bytes(rng, n); };
    for (std::size_t count = 1; count <= 6; ++count) {
        std::vector<std::unique_ptr<AesKey>> together, alone;
        std::vector<AesKey*> list;
        std::vector<Bytes> keys;
        const Bytes plain = random(64);
        for (std::size_t i = 0; i < count; ++i) {
            keys.push_back(random(rng() % 2 ? 32 : 16));
            together.push_back(std::make_unique<AesKey>(GetParam()));
            alone.push_back(std::make_unique<AesKey>(GetParam()));
            together.back()->set(keys.back());
            alone.back()->set(keys.back());
            if (i == 2) {  // one already expanded by its use: left as it is
                Bytes scratch(16);
                ASSERT_TRUE(together.back()->encrypt_blocks(u8(plain), u8(scratch), 1));
            }
            list.push_back(together.back().get());
        }
        AesKey::expand_together(list);
        for (std::size_t i = 0; i < count; ++i)  // made now, not at the first use below
            EXPECT_EQ(together[i]->expanded(), std::string(aes_backend_name(GetParam())) == "aes-ni") << i;
        for (std::size_t i = 0; i < count; ++i) {
            Bytes a(64), b(64);
            ASSERT_TRUE(together[i]->encrypt_blocks(u8(plain), u8(a), 4));
            ASSERT_TRUE(alone[i]->encrypt_blocks(u8(plain), u8(b), 4));
            EXPECT_EQ(a, b) << count << " keys, key " << i;
        }
    }
}

// SP 800-38A F.5.1 and F.5.5 (CTR-AES128, CTR-AES256), whole and cut short; in place.
TEST_P(AesKeyOn, Sp800_38aCtr) {
    const Bytes counter = hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
    const Bytes want128 = hex("874d6191b620e3261bef6864990db6ce 9806f66b7970fdff8617187bb9fffdff"
                              "5ae4df3edbd5d35e5b4f09020db03eab 1e031dda2fbe03d1792170a0f3009cee");
    const Bytes want256 = hex("601ec313775789a5b7a7f504bbf3d228 f443e3ca4d62b59aca84e990cacaf5c5"
                              "2b0930daa23de94ce87017ba2d84988d dfc9c58db67aada613c2dd08457941a6");
    for (const auto& [key, want] : {std::pair{kKey128, want128}, std::pair{kKey256, want256}}) {
        AesKey k(GetParam());
        k.set(key);
        for (std::size_t n : {64u, 50u, 16u, 5u}) {
            Bytes out(n);
            ASSERT_TRUE(k.ctr_xor(u8(counter), u8(kPlain), u8(out), n));
            EXPECT_EQ(out, Bytes(want.begin(), want.begin() + static_cast<long>(n))) << n;
        }
        Bytes in_place = kPlain;
        ASSERT_TRUE(k.ctr_xor(u8(counter), u8(in_place), u8(in_place), in_place.size()));
        EXPECT_EQ(in_place, want);
    }
}

// The count carries across its two 64-bit halves, as ECB of the counter blocks says.
TEST_P(AesKeyOn, CtrCountsAcrossSixtyFourBits) {
    AesKey k(GetParam());
    k.set(kKey128);
    const Bytes blocks = hex("0000000000000000fffffffffffffffe 0000000000000000ffffffffffffffff"
                             "00000000000000010000000000000000 00000000000000010000000000000001"
                             "00000000000000010000000000000002");
    Bytes keystream(blocks.size()), zeros(blocks.size()), ctr(blocks.size());
    ASSERT_TRUE(k.encrypt_blocks(u8(blocks), u8(keystream), blocks.size() / 16));
    ASSERT_TRUE(k.ctr_xor(u8(blocks), u8(zeros), u8(ctr), ctr.size()));  // starts at the first
    EXPECT_EQ(ctr, keystream);
}
