#include "libtime/nts/aes_key.hpp"

#include <algorithm>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#include "libtime/base/bytes.hpp"
#define TIMEPIPE_HAVE_AES_NI 1
#endif

namespace timepipe::nts {

namespace {

#ifdef TIMEPIPE_HAVE_AES_NI
// The AES-NI code: functions compiled for the AES instructions, only called after
// aes_ni_available() said the CPU has them (the rest of the build targets plain x86-64).
#define AES_NI __attribute__((target("aes,ssse3")))

bool aes_ni_available() {
    static const bool yes = __builtin_cpu_supports("aes") && __builtin_cpu_supports("ssse3");
    return yes;
}

__m128i load(const unsigned char* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
void store(unsigned char* p, __m128i v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v); }

// FIPS 197 §5.2: a round key is the previous one with each word xored into the next (the three
// shifts), then xored with a word derived from the last word of the key before.
AES_NI __m128i fold(__m128i k, __m128i word) {
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, word);
}

// SubWord(RotWord(w3)) ^ Rcon (rotate) or SubWord(w3), in all four words: w3 put in every
// column, so AESENCLAST's ShiftRows changes nothing and it is SubBytes then the xor with Rcon.
// (AESKEYGENASSIST does the same but is slow on many cores and wants Rcon as an immediate.)
AES_NI __m128i sub_word(__m128i k, __m128i rcon, bool rotate) {
    const __m128i rot = _mm_setr_epi8(13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12);
    const __m128i same = _mm_setr_epi8(12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15, 12, 13, 14, 15);
    return _mm_aesenclast_si128(_mm_shuffle_epi8(k, rotate ? rot : same), rcon);
}

constexpr int kRcon[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};

// Lanes AES-128 key schedules expanded side by side (independent chains keep the AES unit busy).
template <int Lanes>
AES_NI void expand128(const unsigned char* const* keys, __m128i* const* rks) {
    __m128i k[Lanes];
#pragma GCC unroll 4
    for (int l = 0; l < Lanes; ++l) rks[l][0] = k[l] = load(keys[l]);
#pragma GCC unroll 10
    for (int i = 1; i <= 10; ++i) {
        const __m128i rcon = _mm_set1_epi32(kRcon[i - 1]);
#pragma GCC unroll 4
        for (int l = 0; l < Lanes; ++l) rks[l][i] = k[l] = fold(k[l], sub_word(k[l], rcon, true));
    }
}

// AES-256 (Nk = 8): an even round key from the one two before and SubWord(RotWord) ^ Rcon of the
// odd one before it; an odd one from the one two before and SubWord of the even one before it.
template <int Lanes>
AES_NI void expand256(const unsigned char* const* keys, __m128i* const* rks) {
    __m128i even[Lanes], odd[Lanes];
#pragma GCC unroll 4
    for (int l = 0; l < Lanes; ++l) {
        rks[l][0] = even[l] = load(keys[l]);
        rks[l][1] = odd[l] = load(keys[l] + 16);
    }
    const __m128i zero = _mm_setzero_si128();
#pragma GCC unroll 7
    for (int i = 2; i <= 14; i += 2) {
        const __m128i rcon = _mm_set1_epi32(kRcon[i / 2 - 1]);
#pragma GCC unroll 4
        for (int l = 0; l < Lanes; ++l) rks[l][i] = even[l] = fold(even[l], sub_word(odd[l], rcon, true));
        if (i == 14) break;
#pragma GCC unroll 4
        for (int l = 0; l < Lanes; ++l) rks[l][i + 1] = odd[l] = fold(odd[l], sub_word(even[l], zero, false));
    }
}

// Up to four schedules of one key size: all at once.
AES_NI void expand_lanes(std::size_t key_size, std::size_t n, const unsigned char* const* keys, __m128i* const* rks) {
    switch (n * 100 + key_size) {
    case 116: expand128<1>(keys, rks); break;
    case 216: expand128<2>(keys, rks); break;
    case 316: expand128<3>(keys, rks); break;
    case 416: expand128<4>(keys, rks); break;
    case 132: expand256<1>(keys, rks); break;
    case 232: expand256<2>(keys, rks); break;
    case 332: expand256<3>(keys, rks); break;
    case 432: expand256<4>(keys, rks); break;
    default: break;
    }
}

template <int Rounds>
AES_NI __m128i encrypt(const __m128i* rk, __m128i x) {
    x = _mm_xor_si128(x, rk[0]);
    for (int r = 1; r < Rounds; ++r) x = _mm_aesenc_si128(x, rk[r]);
    return _mm_aesenclast_si128(x, rk[Rounds]);
}

// One chain of CBC-MAC work for the lanes: its key's schedule, chaining value, input, length.
struct LaneJob {
    const __m128i* rk;
    const unsigned char* iv;
    const unsigned char* in;
    std::size_t blocks;
    unsigned char* mac;
};

// `steps` blocks of Lanes chains in lock step: block i of each goes through the rounds together
// (each lane with its own round keys), so the AES unit works on several chains at once
// instead of waiting on one.
template <int Rounds, int Lanes>
AES_NI void lane_steps(const __m128i* const* rk, __m128i* c, const unsigned char** in, std::size_t steps) {
    for (std::size_t i = 0; i < steps; ++i) {
        __m128i x[Lanes];
#pragma GCC unroll 4
        for (int l = 0; l < Lanes; ++l) x[l] = _mm_xor_si128(_mm_xor_si128(c[l], load(in[l] + 16 * i)), rk[l][0]);
#pragma GCC unroll 16
        for (int r = 1; r < Rounds; ++r) {
#pragma GCC unroll 4
            for (int l = 0; l < Lanes; ++l) x[l] = _mm_aesenc_si128(x[l], rk[l][r]);
        }
#pragma GCC unroll 4
        for (int l = 0; l < Lanes; ++l) c[l] = _mm_aesenclast_si128(x[l], rk[l][Rounds]);
    }
#pragma GCC unroll 4
    for (int l = 0; l < Lanes; ++l) in[l] += 16 * steps;
}

// Runs the jobs (keys of one size) four lanes wide: all lanes step together until the shortest
// chain ends, its lane stores the MAC and takes the next job, until none is left.
template <int Rounds>
AES_NI void run_lanes(const LaneJob* jobs, std::size_t n) {
    const __m128i* rk[4];
    __m128i c[4];
    const unsigned char* in[4];
    std::size_t left[4];
    unsigned char* mac[4];
    std::size_t lanes = 0, next = 0;
    auto fill = [&] {
        for (; lanes < 4 && next < n; ++next) {
            const LaneJob& j = jobs[next];
            if (j.blocks == 0) {
                std::memmove(j.mac, j.iv, 16);
                continue;
            }
            rk[lanes] = j.rk;
            c[lanes] = load(j.iv);
            in[lanes] = j.in;
            left[lanes] = j.blocks;
            mac[lanes] = j.mac;
            ++lanes;
        }
    };
    fill();
    while (lanes > 0) {
        std::size_t steps = left[0];
        for (std::size_t l = 1; l < lanes; ++l) steps = std::min(steps, left[l]);
        switch (lanes) {
        case 4: lane_steps<Rounds, 4>(rk, c, in, steps); break;
        case 3: lane_steps<Rounds, 3>(rk, c, in, steps); break;
        case 2: lane_steps<Rounds, 2>(rk, c, in, steps); break;
        default: lane_steps<Rounds, 1>(rk, c, in, steps); break;
        }
        std::size_t kept = 0;
        for (std::size_t l = 0; l < lanes; ++l) {
            if ((left[l] -= steps) == 0) {
                store(mac[l], c[l]);
                continue;
            }
            rk[kept] = rk[l];
            c[kept] = c[l];
            in[kept] = in[l];
            left[kept] = left[l];
            mac[kept] = mac[l];
            ++kept;
        }
        lanes = kept;
        fill();
    }
}

// One block at a time (SIV's own work runs through run_lanes and ctr_xor_ni).
template <int Rounds>
AES_NI void encrypt_blocks_ni(const __m128i* rk, const unsigned char* in, unsigned char* out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) store(out + 16 * i, encrypt<Rounds>(rk, load(in + 16 * i)));
}

// The 128-bit count hi:lo as 16 big-endian octets.
AES_NI __m128i counter_block(std::uint64_t hi, std::uint64_t lo) {
    const __m128i reverse = _mm_setr_epi8(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    return _mm_shuffle_epi8(_mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo)), reverse);
}

// CTR with the counter kept in two registers: each block E(counter + i) made in place, four at
// a time, xored straight into the output.
template <int Rounds>
AES_NI void ctr_xor_ni(const __m128i* rk, const unsigned char* counter, const unsigned char* in, unsigned char* out,
                       std::size_t n) {
    std::uint64_t hi = load_be64(counter), lo = load_be64(counter + 8);
    auto next = [&] {  // the counter as a block, then one up
        const __m128i c = counter_block(hi, lo);
        if (++lo == 0) ++hi;
        return c;
    };
    std::size_t i = 0;
    for (; i + 64 <= n; i += 64) {
        __m128i b[4];
#pragma GCC unroll 4
        for (int l = 0; l < 4; ++l) b[l] = _mm_xor_si128(next(), rk[0]);
        for (int r = 1; r < Rounds; ++r) {
#pragma GCC unroll 4
            for (int l = 0; l < 4; ++l) b[l] = _mm_aesenc_si128(b[l], rk[r]);
        }
#pragma GCC unroll 4
        for (int l = 0; l < 4; ++l)
            store(out + i + 16 * l, _mm_xor_si128(load(in + i + 16 * l), _mm_aesenclast_si128(b[l], rk[Rounds])));
    }
    for (; i + 16 <= n; i += 16) store(out + i, _mm_xor_si128(load(in + i), encrypt<Rounds>(rk, next())));
    if (i < n) {
        alignas(16) unsigned char k[16];
        store(k, encrypt<Rounds>(rk, next()));
        for (std::size_t j = 0; i + j < n; ++j) out[i + j] = static_cast<unsigned char>(in[i + j] ^ k[j]);
        OPENSSL_cleanse(k, sizeof k);
    }
}

// The schedule in `round_keys`, expanded from `key` the first time it is needed.
__m128i* schedule(std::array<unsigned char, 15 * 16>& round_keys, const unsigned char* key, std::size_t key_size,
                  bool& expanded) {
    auto* rk = reinterpret_cast<__m128i*>(round_keys.data());
    if (!expanded) {
        __m128i* const rks[1] = {rk};
        expand_lanes(key_size, 1, &key, rks);
        expanded = true;
    }
    return rk;
}
#else
bool aes_ni_available() { return false; }
#endif

// OpenSSL's ciphers, fetched once for the process.
struct Ciphers {
    EVP_CIPHER* cbc128 = EVP_CIPHER_fetch(nullptr, "AES-128-CBC", nullptr);
    EVP_CIPHER* cbc256 = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    EVP_CIPHER* ecb128 = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
    EVP_CIPHER* ecb256 = EVP_CIPHER_fetch(nullptr, "AES-256-ECB", nullptr);
};
const Ciphers& ciphers() {
    static const Ciphers c;
    return c;
}

}  // namespace

const char* aes_backend_name(AesBackend b) {
    return b == AesBackend::best && aes_ni_available() ? "aes-ni" : "openssl";
}

// Without AES-NI: a CBC context (for CBC-MAC) and an ECB context, each keyed at its first use.
// Every EVP call goes through OpenSSL's parameter handling, so calls are kept few: the CBC
// context is never re-initialised for a new IV; xoring its last output block (its chaining
// value) into the first input block cancels it, AES(chain ^ (chain ^ iv ^ b)) = AES(iv ^ b).
struct AesKey::OpenSsl {
    EVP_CIPHER_CTX* cbc = EVP_CIPHER_CTX_new();
    EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
    std::size_t cbc_key_size = 0, ecb_key_size = 0;  // the cipher each context has; 0: none
    bool cbc_keyed = false, ecb_keyed = false;
    std::array<unsigned char, 16> chain{};
    std::vector<unsigned char> buffer;

    ~OpenSsl() {
        EVP_CIPHER_CTX_free(ecb);
        EVP_CIPHER_CTX_free(cbc);
        OPENSSL_cleanse(chain.data(), chain.size());
        if (!buffer.empty()) OPENSSL_cleanse(buffer.data(), buffer.size());
    }

    // Keys `ctx` with `key`, giving it the cipher only when the key size changed (an init with
    // a cipher costs a fetch and an allocation, one with only a key does not).
    static bool key_context(EVP_CIPHER_CTX* ctx, std::size_t& ctx_key_size, EVP_CIPHER* c128, EVP_CIPHER* c256,
                            const unsigned char* key, std::size_t key_size, const unsigned char* iv) {
        if (ctx_key_size != key_size) {
            EVP_CIPHER* c = key_size == 16 ? c128 : c256;
            if (!c || EVP_EncryptInit_ex2(ctx, c, nullptr, nullptr, nullptr) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
                return false;
            ctx_key_size = key_size;
        }
        return EVP_EncryptInit_ex2(ctx, nullptr, key, iv, nullptr) == 1;
    }
    bool update(EVP_CIPHER_CTX* ctx, const unsigned char* in, unsigned char* out, std::size_t n) {
        int len = 0;
        return EVP_EncryptUpdate(ctx, out, &len, in, static_cast<int>(n)) == 1 && static_cast<std::size_t>(len) == n;
    }
};

AesKey::AesKey(AesBackend b) {
    if (b == AesBackend::openssl || !aes_ni_available()) openssl_ = std::make_unique<OpenSsl>();
}

AesKey::~AesKey() {
    OPENSSL_cleanse(round_keys_.data(), round_keys_.size());
    OPENSSL_cleanse(key_.data(), key_.size());
}

bool AesKey::ok() const { return !openssl_ || (openssl_->cbc && openssl_->ecb); }

void AesKey::set(std::span<const std::byte> key) {
    key_size_ = key.size() == 16 ? 16 : 32;  // callers give 16 or 32; anything else reads no further
    key_.fill(0);
    std::memcpy(key_.data(), key.data(), std::min(key.size(), key_.size()));
    expanded_ = false;
    if (openssl_) openssl_->cbc_keyed = openssl_->ecb_keyed = false;
}

bool AesKey::cbc_mac(const unsigned char* iv, const unsigned char* in, std::size_t n, unsigned char* mac) {
#ifdef TIMEPIPE_HAVE_AES_NI
    if (!openssl_) {
        const KeyedChain one[] = {{this, {iv, in, n, mac}}};
        return cbc_macs(one);
    }
#endif
    OpenSsl& o = *openssl_;
    const Ciphers& c = ciphers();
    if (!o.cbc_keyed) {
        o.chain = {};
        if (!OpenSsl::key_context(o.cbc, o.cbc_key_size, c.cbc128, c.cbc256, key_.data(), key_size_, o.chain.data()))
            return false;
        o.cbc_keyed = true;
    }
    if (o.buffer.size() < 16 * n) o.buffer.resize(16 * n);
    std::memmove(o.buffer.data(), in, 16 * n);
    for (std::size_t i = 0; i < 16; ++i) o.buffer[i] ^= o.chain[i] ^ iv[i];
    if (!o.update(o.cbc, o.buffer.data(), o.buffer.data(), 16 * n)) return false;
    std::memcpy(o.chain.data(), o.buffer.data() + 16 * (n - 1), 16);
    std::memcpy(mac, o.chain.data(), 16);
    return true;
}

void AesKey::expand_together(std::span<AesKey* const> keys) {
#ifdef TIMEPIPE_HAVE_AES_NI
    for (std::size_t size : {16u, 32u}) {
        const unsigned char* key[4];
        __m128i* rks[4];
        std::size_t n = 0;
        for (std::size_t i = 0; i <= keys.size(); ++i) {
            if (i < keys.size()) {
                AesKey& k = *keys[i];
                if (k.openssl_ || k.expanded_ || k.key_size_ != size) continue;
                key[n] = k.key_.data();
                rks[n++] = reinterpret_cast<__m128i*>(k.round_keys_.data());
                k.expanded_ = true;
            }
            if (n == 4 || (i == keys.size() && n > 0)) {
                expand_lanes(size, n, key, rks);
                n = 0;
            }
        }
    }
#else
    (void)keys;  // OpenSSL's contexts are keyed at their first use
#endif
}

bool AesKey::cbc_macs(std::span<const KeyedChain> chains) {
#ifdef TIMEPIPE_HAVE_AES_NI
    if (!chains.empty() && !chains[0].key->openssl_) {  // the keys' backend is one
        // Schedules not yet made, made together; then the chains by key size, 16 at a time.
        std::array<AesKey*, 16> keys;
        std::array<LaneJob, 16> jobs128, jobs256;
        for (std::size_t at = 0; at < chains.size(); at += jobs128.size()) {
            const auto part = chains.subspan(at, std::min(jobs128.size(), chains.size() - at));
            std::size_t n_keys = 0, n128 = 0, n256 = 0;
            for (const KeyedChain& k : part) {
                AesKey& key = *k.key;
                if (!key.expanded_) keys[n_keys++] = &key;  // expand_together skips one seen twice
                (key.key_size_ == 16 ? jobs128[n128++] : jobs256[n256++]) =
                    LaneJob{reinterpret_cast<const __m128i*>(key.round_keys_.data()), k.chain.iv, k.chain.in,
                            k.chain.blocks, k.chain.mac};
            }
            if (n_keys != 0) expand_together(std::span<AesKey* const>(keys).first(n_keys));
            if (n128 != 0) run_lanes<10>(jobs128.data(), n128);
            if (n256 != 0) run_lanes<14>(jobs256.data(), n256);
        }
        return true;
    }
#endif
    for (const KeyedChain& k : chains) {
        if (k.chain.blocks == 0) {
            std::memmove(k.chain.mac, k.chain.iv, 16);
        } else if (!k.key->cbc_mac(k.chain.iv, k.chain.in, k.chain.blocks, k.chain.mac)) {
            return false;
        }
    }
    return true;
}

bool AesKey::encrypt_blocks(const unsigned char* in, unsigned char* out, std::size_t n) {
#ifdef TIMEPIPE_HAVE_AES_NI
    if (!openssl_) {
        const __m128i* rk = schedule(round_keys_, key_.data(), key_size_, expanded_);
        key_size_ == 16 ? encrypt_blocks_ni<10>(rk, in, out, n) : encrypt_blocks_ni<14>(rk, in, out, n);
        return true;
    }
#endif
    OpenSsl& o = *openssl_;
    const Ciphers& c = ciphers();
    if (!o.ecb_keyed) {
        if (!OpenSsl::key_context(o.ecb, o.ecb_key_size, c.ecb128, c.ecb256, key_.data(), key_size_, nullptr))
            return false;
        o.ecb_keyed = true;
    }
    return o.update(o.ecb, in, out, 16 * n);
}

bool AesKey::ctr_xor(const unsigned char* counter, const unsigned char* in, unsigned char* out, std::size_t n) {
    if (n == 0) return true;
#ifdef TIMEPIPE_HAVE_AES_NI
    if (!openssl_) {
        const __m128i* rk = schedule(round_keys_, key_.data(), key_size_, expanded_);
        key_size_ == 16 ? ctr_xor_ni<10>(rk, counter, in, out, n) : ctr_xor_ni<14>(rk, counter, in, out, n);
        return true;
    }
#endif
    // The counter blocks in a buffer, encrypted in place, xored in.
    OpenSsl& o = *openssl_;
    const std::size_t blocks = (n + 15) / 16;
    if (o.buffer.size() < 16 * blocks) o.buffer.resize(16 * blocks);
    std::array<unsigned char, 16> c;
    std::memcpy(c.data(), counter, 16);
    for (std::size_t b = 0; b < blocks; ++b) {
        std::memcpy(o.buffer.data() + 16 * b, c.data(), 16);
        for (int j = 15; j >= 0 && ++c[static_cast<std::size_t>(j)] == 0; --j) {
        }
    }
    if (!encrypt_blocks(o.buffer.data(), o.buffer.data(), blocks)) return false;
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<unsigned char>(in[i] ^ o.buffer[i]);
    return true;
}

}  // namespace timepipe::nts
