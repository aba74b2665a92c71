// One AES key (FIPS 197, 128 or 256 bits) set up for the two things SIV asks of AES: a CBC-MAC
// chain (CMAC's core) and encrypting independent blocks (CTR's keystream).
//
//   AesKey k;                       // no key yet
//   k.set(key);                     // 16 or 32 octets
//   k.cbc_mac(iv, blocks, n, mac);  // mac = E(...E(E(iv ^ b0) ^ b1)... ^ b(n-1))
//   k.encrypt_blocks(in, out, n);   // out[i] = E(in[i])
//
// Where the CPU has AES-NI the key schedule is expanded here with those instructions: NTS
// changes keys at every message (each client brings its own), and OpenSSL 3's EVP layer spends
// 100-150 ns of parameter handling per key change against some 40 ns for the expansion itself.
// Elsewhere, and when asked (tests compare both), OpenSSL's AES-CBC and AES-ECB do the work.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <span>

namespace timepipe::nts {

enum class AesBackend { best, openssl };

// "aes-ni" or "openssl": what AesKey uses for `b` on this CPU.
const char* aes_backend_name(AesBackend b);

class AesKey {
public:
    explicit AesKey(AesBackend b = AesBackend::best);
    ~AesKey();
    AesKey(const AesKey&) = delete;
    AesKey& operator=(const AesKey&) = delete;

    bool ok() const;  // false: OpenSSL could not make its contexts
    // Whether the AES-NI schedule is made (by expand_together or a first use); OpenSSL's
    // contexts are keyed at their first use and say false.
    bool expanded() const { return !openssl_ && expanded_; }
    // 16 or 32 octets, copied; the work of setting it up is done at its first use, so a key only
    // ever used one way (K1 for CMAC, K2 for CTR) is set up for that way only.
    void set(std::span<const std::byte> key);
    // n > 0 whole blocks; false only on an OpenSSL failure. `in` and `out` may be the same.
    bool cbc_mac(const unsigned char* iv, const unsigned char* in, std::size_t n, unsigned char* mac);
    // Independent CBC-MACs under any keys of one backend, one per chain (each set; 16- and
    // 32-octet keys may mix), run side by side (AES-NI: four chains in lock step, so the AES
    // unit is not left waiting on one; a lane takes the next chain as soon as its own ends).
    // A chain's iv must not be another's mac.
    struct Chain {
        const unsigned char* iv;
        const unsigned char* in;
        std::size_t blocks;  // may be 0: mac = iv
        unsigned char* mac;
    };
    struct KeyedChain {
        AesKey* key;
        Chain chain;
    };
    static bool cbc_macs(std::span<const KeyedChain> chains);
    bool encrypt_blocks(const unsigned char* in, unsigned char* out, std::size_t n);
    // CTR: out = in xor the keystream E(counter), E(counter + 1), ... (a 128-bit big-endian
    // count) over n octets, any n; `in` and `out` may be the same.
    bool ctr_xor(const unsigned char* counter, const unsigned char* in, unsigned char* out, std::size_t n);

    // Sets up the keys given (set, not yet used) side by side now, instead of one by one at
    // their first use: AES-NI expands up to four schedules at once in about the time of one.
    static void expand_together(std::span<AesKey* const> keys);

private:
    struct OpenSsl;
    alignas(16) std::array<unsigned char, 15 * 16> round_keys_{};  // AES-NI: the expanded key
    std::array<unsigned char, 32> key_{};
    std::size_t key_size_ = 0;
    bool expanded_ = false;
    std::unique_ptr<OpenSsl> openssl_;  // only without AES-NI
};

}  // namespace timepipe::nts
