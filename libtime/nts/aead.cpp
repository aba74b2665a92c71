#include "libtime/nts/aead.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <sysexits.h>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/nts/aes_key.hpp"

namespace timepipe::nts {

namespace {

using Block = std::array<unsigned char, 16>;

const unsigned char* u8(std::span<const std::byte> s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* u8(std::span<std::byte> s) { return reinterpret_cast<unsigned char*>(s.data()); }

Unexpected<Error> openssl_error(const char* what) {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    char buf[256] = "unknown error";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    return fail(std::string(what) + ": " + buf, EX_SOFTWARE);
}

Unexpected<Error> auth_failed() {
    ERR_clear_error();
    return fail("authentication failed", EX_DATAERR);
}

// Big-endian 64-bit loads and stores (memcpy: no alignment assumed).
std::uint64_t load_be64(const unsigned char* p) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
void store_be64(unsigned char* p, std::uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
}

// RFC 5297 §2.3: multiplication by x in GF(2^128), on the block as two big-endian halves.
Block dbl(const Block& b) {
    std::uint64_t hi = load_be64(b.data()), lo = load_be64(b.data() + 8);
    const std::uint64_t carry = hi >> 63;
    hi = hi << 1 | lo >> 63;
    lo = lo << 1 ^ (0x87 & (0 - carry));
    Block out;
    store_be64(out.data(), hi);
    store_be64(out.data() + 8, lo);
    return out;
}

// dst[0..n) ^= src[0..n), a word at a time.
void xor_bytes(unsigned char* dst, const unsigned char* src, std::size_t n) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t a, b;
        std::memcpy(&a, dst + i, 8);
        std::memcpy(&b, src + i, 8);
        a ^= b;
        std::memcpy(dst + i, &a, 8);
    }
    for (; i < n; ++i) dst[i] ^= src[i];
}
void xor_into(Block& a, const unsigned char* b) { xor_bytes(a.data(), b, a.size()); }

// Equal keys, in time that does not depend on where they differ.
bool same_key(const std::byte* a, const std::byte* b, std::size_t n) {
    std::uint64_t diff = 0;
    for (std::size_t i = 0; i < n; i += 8) {
        std::uint64_t x, y;
        std::memcpy(&x, a + i, 8);
        std::memcpy(&y, b + i, 8);
        diff |= x ^ y;
    }
    return diff == 0;
}

std::size_t index_of(AeadAlgorithm a) { return a == AeadAlgorithm::aes_siv_cmac_256 ? 0 : 1; }

constexpr Block kZero{};

}  // namespace

std::optional<AeadAlgorithm> aead_from_id(std::uint16_t id) {
    switch (id) {
    case 15: return AeadAlgorithm::aes_siv_cmac_256;
    case 17: return AeadAlgorithm::aes_siv_cmac_512;
    default: return std::nullopt;
    }
}

std::size_t aead_key_size(AeadAlgorithm a) { return a == AeadAlgorithm::aes_siv_cmac_256 ? 32 : 64; }

std::string_view aead_name(AeadAlgorithm a) {
    return a == AeadAlgorithm::aes_siv_cmac_256 ? "AEAD_AES_SIV_CMAC_256" : "AEAD_AES_SIV_CMAC_512";
}

// SIV (RFC 5297 §2.6, §2.7) built here on AesKey's two operations: CBC-MAC chains for CMAC
// (RFC 4493) and independent blocks for CTR's keystream. OpenSSL's own "AES-SIV" cipher would
// do, but it fetches a CMAC implementation and allocates contexts at every key change
// (ossl_siv128_init), and NTS changes keys at every message: that cost several microseconds per
// message. The last three keys of each algorithm stay set up (K1, K2, CMAC subkeys, CMAC of
// zero): a server's cookie key and the two keys of the message at hand, which it forgets after
// its response (prepare, forget); a client's two keys stay for its whole session.
// Unit tests check this against RFC 5297's vectors, Wycheproof's, and OpenSSL's AES-SIV, with
// AES-NI and with OpenSSL's AES.
struct Siv::Contexts {
    // One SIV key set up: K1 for CMAC, K2 for CTR.
    struct Keyed {
        explicit Keyed(AesBackend b) : k1(b), k2(b) {}
        AesKey k1, k2;
        std::array<std::byte, kMaxAeadKeySize> key{};
        std::size_t key_size = 0;  // 0: none yet
        Block sub1{}, sub2{};      // CMAC subkeys (RFC 4493 §2.3)
        Block d0{};                // CMAC(K1, zero block): S2V's first step, the same every time
        std::uint64_t used = 0;

        ~Keyed() {
            OPENSSL_cleanse(key.data(), key.size());
            for (Block* b : {&sub1, &sub2, &d0}) OPENSSL_cleanse(b->data(), b->size());
        }
    };

    explicit Contexts(AesBackend b)
        : keyed{{Keyed(b), Keyed(b), Keyed(b)}, {Keyed(b), Keyed(b), Keyed(b)}} {
        ready = true;
        for (auto& slots : keyed)
            for (auto& k : slots) ready = ready && k.k1.ok() && k.k2.ok();
    }
    ~Contexts() {
        if (!in.empty()) OPENSSL_cleanse(in.data(), in.size());
    }
    Contexts(const Contexts&) = delete;
    Contexts& operator=(const Contexts&) = delete;

    // [algorithm][slot]: three, for a server's cookie key and the client keys of the message
    // at hand (which it forgets after its response: prepare() and forget()).
    Keyed keyed[2][3];
    std::uint64_t uses = 0, set_ups = 0;
    bool ready = false;
    std::vector<unsigned char> in;  // S2V's CMAC blocks: each header's, then T's tail
    crypto::RandomPool nonces;

    // The slot holding `key` for algorithm a, else the least recently used one with `key` set in
    // it but not yet set up (fresh). Marked used either way.
    Keyed* slot_for(AeadAlgorithm a, std::span<const std::byte> key, bool& fresh) {
        auto& slots = keyed[index_of(a)];
        Keyed* k = nullptr;
        for (auto& s : slots)
            if (s.key_size == key.size() && same_key(s.key.data(), key.data(), key.size())) k = &s;
        fresh = !k;
        if (!k) {
            ++set_ups;
            k = &slots[0];
            for (auto& s : slots)
                if (s.used < k->used) k = &s;
            const std::size_t half = key.size() / 2;
            k->k1.set(key.first(half));
            k->k2.set(key.subspan(half));
            std::copy(key.begin(), key.end(), k->key.begin());
            k->key_size = key.size();
        }
        k->used = ++uses;
        return k;
    }

    // The rest of a fresh slot's set-up: L = AES(K1, 0), the subkeys, and CMAC(K1, 0), which
    // for one complete zero block is AES(K1, 0 xor K1's first subkey).
    bool finish_set_up(Keyed& k) {
        Block l{};
        const bool ok = k.k1.cbc_mac(kZero.data(), kZero.data(), 1, l.data());
        k.sub1 = dbl(l);
        k.sub2 = dbl(k.sub1);
        OPENSSL_cleanse(l.data(), l.size());
        if (!ok || !k.k1.cbc_mac(kZero.data(), k.sub1.data(), 1, k.d0.data())) {
            forget(k);
            return false;
        }
        return true;
    }

    // The slot for `key`, set up.
    Keyed* keyed_for(AeadAlgorithm a, std::span<const std::byte> key) {
        bool fresh = false;
        Keyed* k = slot_for(a, key, fresh);
        return !fresh || finish_set_up(*k) ? k : nullptr;
    }

    // Marks k empty: its key is no longer found, and the next key set in it overwrites the
    // schedules (zeroing ~1 KiB per message would cost more than the set-up it replaces).
    void forget(Keyed& k) {
        k.key_size = 0;
        k.used = 0;
    }

    // Writes the CMAC input of `data` at in[at..): its blocks, padded, the last one xored with a
    // subkey (RFC 4493 §2.4). Returns the number of blocks.
    std::size_t cmac_blocks(Keyed& k, std::span<const unsigned char> data, std::size_t at) {
        const std::size_t n = data.size();
        const bool complete = n > 0 && n % 16 == 0;
        const std::size_t blocks = complete ? n / 16 : n / 16 + 1;
        unsigned char* p = in.data() + at;
        if (n > 0) std::memcpy(p, data.data(), n);  // an empty header's data() may be null
        if (complete) {
            xor_bytes(p + n - 16, k.sub1.data(), 16);
        } else {
            std::memset(p + n, 0, blocks * 16 - n);
            p[n] = 0x80;  // padding 10*
            xor_bytes(p + (blocks - 1) * 16, k.sub2.data(), 16);
        }
        return blocks;
    }

    // S2V (RFC 5297 §2.4) of the headers and then the plaintext, under k's K1. The CMACs of the
    // headers and of the plaintext's blocks before its last 16 octets (which D is xored into)
    // are independent, so they run side by side; the last one or two blocks of T follow.
    Result<Block> s2v(Keyed& k, Siv::Headers headers, std::span<const std::byte> plaintext) {
        const std::size_t n = plaintext.size();
        const std::size_t prefix = n >= 16 ? (n - 16) / 16 : 0;  // T's blocks D does not touch
        std::size_t total = 16 * prefix + 32;
        for (auto h : headers) total += 16 * (h.size() / 16 + 1);
        if (in.size() < total) in.resize(total);
        if (macs.size() < headers.size() + 1) macs.resize(headers.size() + 1);
        chains.clear();
        std::size_t at = 0;
        for (std::size_t i = 0; i < headers.size(); ++i) {
            const std::size_t blocks = cmac_blocks(k, {u8(headers[i]), headers[i].size()}, at);
            chains.push_back({kZero.data(), in.data() + at, blocks, macs[i].data()});
            at += 16 * blocks;
        }
        Block& t_chain = macs[headers.size()];
        chains.push_back({kZero.data(), u8(plaintext), prefix, t_chain.data()});
        if (!k.k1.cbc_macs(chains)) return openssl_error("AES-CMAC");

        Block d = k.d0;
        for (std::size_t i = 0; i < headers.size(); ++i) {
            d = dbl(d);
            xor_into(d, macs[i].data());
        }
        // The rest of T: P's last 16 + r octets with D xored into the last 16 (T = P xorend D),
        // or for a short P, T = dbl(D) xor pad(P); then CMAC's own last-block rule.
        unsigned char* tail = in.data() + at;
        std::size_t tail_blocks;
        if (n >= 16) {
            const std::size_t m = n - 16 * prefix;  // 16..31
            std::memcpy(tail, u8(plaintext) + 16 * prefix, m);
            xor_bytes(tail + m - 16, d.data(), 16);
            if (m == 16) {
                xor_bytes(tail, k.sub1.data(), 16);
                tail_blocks = 1;
            } else {
                std::memset(tail + m, 0, 32 - m);
                tail[m] = 0x80;
                xor_bytes(tail + 16, k.sub2.data(), 16);
                tail_blocks = 2;
            }
        } else {
            Block t = dbl(d);
            for (std::size_t i = 0; i < n; ++i) t[i] ^= static_cast<unsigned char>(plaintext[i]);
            t[n] ^= 0x80;
            xor_bytes(t.data(), k.sub1.data(), 16);  // T is one complete block
            std::memcpy(tail, t.data(), 16);
            OPENSSL_cleanse(t.data(), t.size());
            tail_blocks = 1;
        }
        Block v{};
        const bool ok = k.k1.cbc_mac(t_chain.data(), tail, tail_blocks, v.data());
        OPENSSL_cleanse(tail, 32);
        if (!ok) return openssl_error("AES-CMAC");
        return v;
    }
    std::vector<Block> macs;                 // each header's CMAC, then T's chain before its tail
    std::vector<AesKey::Chain> chains;

    // CTR(K2, Q, src) into dst, Q = V with bits 31 and 63 (from the right) cleared (RFC 5297
    // §2.5): the counter blocks Q, Q+1, ... (a 128-bit big-endian count).
    bool ctr_crypt(Keyed& k, const unsigned char* v, const unsigned char* src, std::size_t n, unsigned char* dst) {
        Block q;
        std::memcpy(q.data(), v, 16);
        q[8] &= 0x7f;
        q[12] &= 0x7f;
        return k.k2.ctr_xor(q.data(), src, dst, n);
    }
};

Siv::Siv(AesBackend backend) : ctx_(std::make_unique<Contexts>(backend)) {}
void Siv::random_nonce(std::span<std::byte> out) { ctx_->nonces.fill(out); }
Siv::~Siv() = default;
Siv::Siv(Siv&&) noexcept = default;
Siv& Siv::operator=(Siv&&) noexcept = default;

void Siv::prepare(AeadAlgorithm a, std::span<const std::byte> c2s, std::span<const std::byte> s2c) {
    if (!ctx_->ready || c2s.size() != aead_key_size(a) || s2c.size() != aead_key_size(a)) return;
    bool c2s_fresh = false, s2c_fresh = false;
    Contexts::Keyed* c = ctx_->slot_for(a, c2s, c2s_fresh);
    Contexts::Keyed* s = ctx_->slot_for(a, s2c, s2c_fresh);
    AesKey* expand[3];
    std::size_t n = 0;
    if (c2s_fresh) expand[n++] = &c->k1;  // C2S's K2 only for a request with a plaintext: at its use
    if (s2c_fresh && s != c) {
        expand[n++] = &s->k1;
        expand[n++] = &s->k2;
    }
    AesKey::expand_together(std::span(expand, n));
    if (c2s_fresh) ctx_->finish_set_up(*c);  // a failure leaves the slot empty: set up again at use
    if (s2c_fresh && s != c) ctx_->finish_set_up(*s);
}

std::uint64_t Siv::key_set_ups() const { return ctx_->set_ups; }

void Siv::forget(AeadAlgorithm a, std::span<const std::byte> key) {
    for (auto& k : ctx_->keyed[index_of(a)])
        if (k.key_size == key.size() && same_key(k.key.data(), key.data(), key.size())) ctx_->forget(k);
}

Result<std::size_t> Siv::seal(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> plaintext, std::span<std::byte> out) {
    if (!ctx_->ready) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    const std::size_t total = kSivTagSize + plaintext.size();
    if (out.size() < total) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    Contexts::Keyed* k = ctx_->keyed_for(a, key);
    if (!k) return openssl_error("AES-SIV key setup");
    auto v = ctx_->s2v(*k, headers, plaintext);
    if (!v) return Unexpected<Error>{v.error()};
    if (!ctx_->ctr_crypt(*k, v->data(), u8(plaintext), plaintext.size(), u8(out.subspan(kSivTagSize))))
        return openssl_error("AES-CTR");
    std::memcpy(out.data(), v->data(), kSivTagSize);
    return total;
}

Result<std::size_t> Siv::open(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> sealed, std::span<std::byte> out) {
    if (!ctx_->ready) return openssl_error("AES-SIV unavailable");
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    if (sealed.size() < kSivTagSize) return auth_failed();
    const std::size_t plain = sealed.size() - kSivTagSize;
    if (out.size() < plain) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
    Contexts::Keyed* k = ctx_->keyed_for(a, key);
    if (!k) return openssl_error("AES-SIV key setup");
    if (!ctx_->ctr_crypt(*k, u8(sealed), u8(sealed.subspan(kSivTagSize)), plain, u8(out)))
        return openssl_error("AES-CTR");
    auto v = ctx_->s2v(*k, headers, out.first(plain));
    if (!v) return Unexpected<Error>{v.error()};
    if (CRYPTO_memcmp(v->data(), sealed.data(), kSivTagSize) != 0) {
        OPENSSL_cleanse(out.data(), plain);
        return auth_failed();
    }
    return plain;
}

}  // namespace timepipe::nts
