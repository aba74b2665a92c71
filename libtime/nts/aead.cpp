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
#include "libtime/base/bytes.hpp"

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

SivKey::~SivKey() {
    for (auto* b : {&sub1_, &sub2_, &d0_}) OPENSSL_cleanse(b->data(), b->size());
}

void SivKey::set(AeadAlgorithm a, std::span<const std::byte> key) {
    set_up_ = false;
    key_size_ = 0;
    if (key.size() != aead_key_size(a)) return;
    const std::size_t half = key.size() / 2;
    k1_.set(key.first(half));
    k2_.set(key.subspan(half));
    key_size_ = key.size();
}

// SIV (RFC 5297 §2.6, §2.7) built here on AesKey's two operations: CBC-MAC chains for CMAC
// (RFC 4493) and independent blocks for CTR's keystream. OpenSSL's own "AES-SIV" cipher would
// do, but it fetches a CMAC implementation and allocates contexts at every key change
// (ossl_siv128_init), and NTS changes keys at every message: that cost several microseconds per
// message. Jobs run side by side: the CMAC chains of all of them (each under its own key) go
// through AesKey::cbc_macs together, four lanes wide.
// The keys given as octets (seal, open) stay set up in three slots per algorithm: a server's
// cookie keys, a client's two session keys.
// Unit tests check this against RFC 5297's vectors, Wycheproof's, and OpenSSL's AES-SIV, with
// AES-NI and with OpenSSL's AES.
struct Siv::Contexts {
    // A key given as octets, kept set up while it is among the three most recently used.
    struct Slot {
        explicit Slot(AesBackend b) : key(b) {}
        ~Slot() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
        SivKey key;
        std::array<std::byte, kMaxAeadKeySize> bytes{};
        std::size_t size = 0;  // 0: none yet
        std::uint64_t used = 0;
    };

    explicit Contexts(AesBackend b) : slots{{Slot(b), Slot(b), Slot(b)}, {Slot(b), Slot(b), Slot(b)}} {
        ready = true;
        for (auto& per_algorithm : slots)
            for (auto& s : per_algorithm) ready = ready && s.key.k1_.ok() && s.key.k2_.ok();
    }
    ~Contexts() {
        if (!in.empty()) OPENSSL_cleanse(in.data(), in.size());
    }
    Contexts(const Contexts&) = delete;
    Contexts& operator=(const Contexts&) = delete;

    Slot slots[2][3];  // [algorithm]
    std::uint64_t uses = 0, set_ups = 0;
    bool ready = false;
    std::vector<unsigned char> in;  // S2V's CMAC blocks: each header's, then T's tail
    crypto::RandomPool nonces;

    // The slot's key for `key` of algorithm a, set in the least recently used slot when none
    // has it (set up at its first job).
    SivKey& key_for(AeadAlgorithm a, std::span<const std::byte> key) {
        auto& per_algorithm = slots[index_of(a)];
        Slot* k = nullptr;
        for (auto& s : per_algorithm)
            if (s.size == key.size() && crypto::same_secret(std::span(s.bytes).first(s.size), key)) k = &s;
        if (!k) {
            k = &per_algorithm[0];
            for (auto& s : per_algorithm)
                if (s.used < k->used) k = &s;
            k->key.set(a, key);
            k->size = std::min(key.size(), k->bytes.size());
            std::copy_n(key.begin(), k->size, k->bytes.begin());
        }
        k->used = ++uses;
        return k->key;
    }

    static constexpr std::size_t kMaxJobs = 16;

    // New keys' set-up, side by side: L = AES(K1, 0), the subkeys, and CMAC(K1, 0), which for
    // one complete zero block is AES(K1, 0 xor K1's first subkey).
    bool set_up(std::span<SivKey* const> fresh) {
        std::array<Block, kMaxJobs> l;
        std::array<AesKey::KeyedChain, kMaxJobs> chain;
        const std::size_t n = fresh.size();
        for (std::size_t i = 0; i < n; ++i) chain[i] = {&fresh[i]->k1_, {kZero.data(), kZero.data(), 1, l[i].data()}};
        bool ok = AesKey::cbc_macs(std::span(chain).first(n));
        for (std::size_t i = 0; i < n; ++i) {
            SivKey& k = *fresh[i];
            k.sub1_ = dbl(l[i]);
            k.sub2_ = dbl(k.sub1_);
            chain[i] = {&k.k1_, {kZero.data(), k.sub1_.data(), 1, k.d0_.data()}};
        }
        OPENSSL_cleanse(l.data(), n * sizeof(Block));
        ok = ok && AesKey::cbc_macs(std::span(chain).first(n));
        set_ups += n;
        for (std::size_t i = 0; i < n; ++i) fresh[i]->set_up_ = ok;
        return ok;
    }

    // Writes the CMAC input of `data` at p: its blocks, padded, the last one xored with a
    // subkey (RFC 4493 §2.4). Returns the number of blocks.
    static std::size_t cmac_blocks(const SivKey& k, std::span<const unsigned char> data, unsigned char* p) {
        const std::size_t n = data.size();
        const bool complete = n > 0 && n % 16 == 0;
        const std::size_t blocks = complete ? n / 16 : n / 16 + 1;
        if (n > 0) std::memcpy(p, data.data(), n);  // an empty header's data() may be null
        if (complete) {
            xor_bytes(p + n - 16, k.sub1_.data(), 16);
        } else {
            std::memset(p + n, 0, blocks * 16 - n);
            p[n] = 0x80;  // padding 10*
            xor_bytes(p + (blocks - 1) * 16, k.sub2_.data(), 16);
        }
        return blocks;
    }

    // One job's S2V (RFC 5297 §2.4) of its headers and then its plaintext, under K1: the CMACs
    // of the headers and of the plaintext's blocks before its last 16 octets (which D is xored
    // into) are independent, so they run side by side (with every other job's); the last one
    // or two blocks of T follow.
    struct Work {
        Siv::Job* job;
        const std::byte* plaintext;
        std::size_t plaintext_size;
        std::size_t at;    // its CMAC input in `in`: headers' blocks, then T's tail (32)
        std::size_t tail;  // where T's tail is in `in`
        std::size_t macs;  // its header CMACs in `macs`, then T's chain, then V
    };

    static std::size_t prefix_blocks(std::size_t n) { return n >= 16 ? (n - 16) / 16 : 0; }

    // S2V of every work item: V in macs[w.macs + headers + 1]. False on an AES failure.
    bool s2v(std::span<Work> work) {
        std::size_t total = 0, mac_count = 0, chain_count = 0;
        for (Work& w : work) {
            w.at = total;
            w.macs = mac_count;
            for (auto h : w.job->headers) total += 16 * (h.size() / 16 + 1);
            total += 32;
            mac_count += w.job->headers.size() + 2;
            chain_count += w.job->headers.size() + 1;
        }
        if (in.size() < total) in.resize(total);
        if (macs.size() < mac_count) macs.resize(mac_count);
        if (chains.size() < chain_count) chains.resize(chain_count);
        std::size_t c = 0;
        for (Work& w : work) {
            SivKey& k = *w.job->key;
            std::size_t at = w.at;
            const auto& headers = w.job->headers;
            for (std::size_t i = 0; i < headers.size(); ++i) {
                const std::size_t blocks = cmac_blocks(k, {u8(headers[i]), headers[i].size()}, in.data() + at);
                chains[c++] = {&k.k1_, {kZero.data(), in.data() + at, blocks, macs[w.macs + i].data()}};
                at += 16 * blocks;
            }
            w.tail = at;
            chains[c++] = {&k.k1_, {kZero.data(), reinterpret_cast<const unsigned char*>(w.plaintext),
                                    prefix_blocks(w.plaintext_size), macs[w.macs + headers.size()].data()}};
        }
        if (!AesKey::cbc_macs(std::span(chains).first(c))) return false;

        c = 0;
        for (Work& w : work) {
            SivKey& k = *w.job->key;
            const auto& headers = w.job->headers;
            Block d = k.d0_;
            for (std::size_t i = 0; i < headers.size(); ++i) {
                d = dbl(d);
                xor_into(d, macs[w.macs + i].data());
            }
            // The rest of T: P's last 16 + r octets with D xored into the last 16 (T = P xorend
            // D), or for a short P, T = dbl(D) xor pad(P); then CMAC's own last-block rule.
            const std::size_t n = w.plaintext_size;
            const std::size_t prefix = prefix_blocks(n);
            unsigned char* tail = in.data() + w.tail;
            std::size_t tail_blocks;
            if (n >= 16) {
                const std::size_t m = n - 16 * prefix;  // 16..31
                std::memcpy(tail, reinterpret_cast<const unsigned char*>(w.plaintext) + 16 * prefix, m);
                xor_bytes(tail + m - 16, d.data(), 16);
                if (m == 16) {
                    xor_bytes(tail, k.sub1_.data(), 16);
                    tail_blocks = 1;
                } else {
                    std::memset(tail + m, 0, 32 - m);
                    tail[m] = 0x80;
                    xor_bytes(tail + 16, k.sub2_.data(), 16);
                    tail_blocks = 2;
                }
            } else {
                Block t = dbl(d);
                for (std::size_t i = 0; i < n; ++i) t[i] ^= static_cast<unsigned char>(w.plaintext[i]);
                t[n] ^= 0x80;
                xor_bytes(t.data(), k.sub1_.data(), 16);  // T is one complete block
                std::memcpy(tail, t.data(), 16);
                OPENSSL_cleanse(t.data(), t.size());
                tail_blocks = 1;
            }
            const Block& t_chain = macs[w.macs + headers.size()];
            chains[c++] = {&k.k1_, {t_chain.data(), tail, tail_blocks, macs[w.macs + headers.size() + 1].data()}};
        }
        const bool ok = AesKey::cbc_macs(std::span(chains).first(c));
        for (Work& w : work) OPENSSL_cleanse(in.data() + w.tail, 32);
        return ok;
    }
    std::vector<Block> macs;  // per job: each header's CMAC, T's chain before its tail, V
    std::vector<AesKey::KeyedChain> chains;

    // CTR(K2, Q, src) into dst, Q = V with bits 31 and 63 (from the right) cleared (RFC 5297
    // §2.5): the counter blocks Q, Q+1, ... (a 128-bit big-endian count).
    static bool ctr_crypt(SivKey& k, const unsigned char* v, const unsigned char* src, std::size_t n, unsigned char* dst) {
        Block q;
        std::memcpy(q.data(), v, 16);
        q[8] &= 0x7f;
        q[12] &= 0x7f;
        return k.k2_.ctr_xor(q.data(), src, dst, n);
    }

    // Checks a job before any work: the failure it gets, if any.
    std::optional<Unexpected<Error>> refusal(const Siv::Job& j) const {
        if (!ready || !j.key || !j.key->k1_.ok() || !j.key->k2_.ok()) return openssl_error("AES-SIV unavailable");
        if (!j.key->is_set()) return fail("AES-SIV: no key set", EX_SOFTWARE);
        if (j.seal) {
            if (j.out.size() < kSivTagSize + j.in.size()) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
        } else {
            if (j.in.size() < kSivTagSize) return auth_failed();
            if (j.out.size() < j.in.size() - kSivTagSize) return fail("AES-SIV: output buffer too small", EX_SOFTWARE);
        }
        return std::nullopt;
    }

    // Up to kMaxJobs jobs.
    void run_part(std::span<Siv::Job> jobs) {
        std::array<Work, kMaxJobs> work;
        std::array<SivKey*, kMaxJobs> fresh;
        std::array<AesKey*, 2 * kMaxJobs> expand;  // schedules not made yet: all at once
        std::size_t n = 0, n_fresh = 0, n_expand = 0;
        for (Siv::Job& j : jobs) {
            if (auto e = refusal(j)) {
                j.result = *e;
                continue;
            }
            SivKey& k = *j.key;
            if (!k.set_up_) {
                k.set_up_ = true;  // once in `fresh`, however many jobs use it
                fresh[n_fresh++] = &k;
                if (!k.k1_.expanded()) expand[n_expand++] = &k.k1_;
            }
            const std::size_t plain = j.seal ? j.in.size() : j.in.size() - kSivTagSize;
            // K2 only for CTR: a key that only opens empty plaintexts (a request's) never needs it
            if (plain > 0 && !k.k2_.expanded()) expand[n_expand++] = &k.k2_;  // (a repeat is skipped)
            work[n++] = Work{&j, j.seal ? j.in.data() : j.out.data(), plain, 0, 0, 0};
        }
        const auto all = std::span(work).first(n);
        AesKey::expand_together(std::span(expand).first(n_expand));
        if (n_fresh != 0 && !set_up(std::span(fresh).first(n_fresh))) return fail_all(all, "AES-SIV key setup");
        for (Work& w : all) {  // opens: decrypt first, S2V is over the plaintext
            Siv::Job& j = *w.job;
            if (!j.seal && !ctr_crypt(*j.key, u8(j.in), u8(j.in.subspan(kSivTagSize)), w.plaintext_size, u8(j.out)))
                return fail_all(all, "AES-CTR");
        }
        if (!s2v(all)) return fail_all(all, "AES-CMAC");
        for (Work& w : all) {
            Siv::Job& j = *w.job;
            const Block& v = macs[w.macs + j.headers.size() + 1];
            if (j.seal) {
                if (!ctr_crypt(*j.key, v.data(), u8(j.in), j.in.size(), u8(j.out.subspan(kSivTagSize))))
                    return fail_all(all, "AES-CTR");
                std::memcpy(j.out.data(), v.data(), kSivTagSize);
                j.result = kSivTagSize + j.in.size();
            } else if (CRYPTO_memcmp(v.data(), j.in.data(), kSivTagSize) != 0) {
                OPENSSL_cleanse(j.out.data(), w.plaintext_size);
                j.result = auth_failed();
            } else {
                j.result = w.plaintext_size;
            }
        }
    }
    static void fail_all(std::span<Work> work, const char* what) {
        for (Work& w : work) w.job->result = openssl_error(what);
    }
};

Siv::Siv(AesBackend backend) : ctx_(std::make_unique<Contexts>(backend)) {}
void Siv::random_nonce(std::span<std::byte> out) { ctx_->nonces.fill(out); }
Siv::~Siv() = default;
Siv::Siv(Siv&&) noexcept = default;
Siv& Siv::operator=(Siv&&) noexcept = default;

std::uint64_t Siv::key_set_ups() const { return ctx_->set_ups; }

void Siv::run(std::span<Job> jobs) {
    for (std::size_t at = 0; at < jobs.size(); at += Contexts::kMaxJobs)
        ctx_->run_part(jobs.subspan(at, std::min(Contexts::kMaxJobs, jobs.size() - at)));
}

Result<std::size_t> Siv::seal(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> plaintext, std::span<std::byte> out) {
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    Job j{.seal = true, .key = &ctx_->key_for(a, key), .headers = headers, .in = plaintext, .out = out};
    ctx_->run_part(std::span(&j, 1));
    return j.result;
}

Result<std::size_t> Siv::open(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                              std::span<const std::byte> sealed, std::span<std::byte> out) {
    if (key.size() != aead_key_size(a)) return fail("AES-SIV: key of " + std::to_string(key.size()) + " octets", EX_SOFTWARE);
    Job j{.seal = false, .key = &ctx_->key_for(a, key), .headers = headers, .in = sealed, .out = out};
    ctx_->run_part(std::span(&j, 1));
    return j.result;
}

}  // namespace timepipe::nts
