// The AEAD algorithms NTS negotiates (RFC 8915 §5.1, IANA "AEAD Algorithms"): AES-SIV-CMAC-256
// (15, mandatory) and AES-SIV-CMAC-512 (17), RFC 5297 SIV mode. NTS passes two
// header components to S2V: the associated data, then the nonce (RFC 5297 §3, RFC 8915 §5.6).
//
//   Siv siv;                                              // one per thread: holds key schedules
//   std::vector<std::byte> sealed(kSivTagSize + plain.size());
//   auto n = siv.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, sealed);  // SIV ‖ C
//   auto m = siv.open(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, sealed, plain);  // or error
//
// Built here on AES keys that are cheap to change (nts/aes_key: AES-NI, or OpenSSL's AES-CBC and
// AES-ECB): OpenSSL's own AES-SIV sets up new contexts at every key change (several microseconds
// per NTS message), and before 3.5 refuses an empty plaintext (openssl#17268), which an NTS
// request has. Unit tests check it against RFC 5297, Wycheproof and OpenSSL's AES-SIV.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/nts/aes_key.hpp"

namespace timepipe::nts {

enum class AeadAlgorithm : std::uint16_t {
    aes_siv_cmac_256 = 15,
    aes_siv_cmac_512 = 17,
};

inline constexpr std::size_t kSivTagSize = 16;
inline constexpr std::size_t kMaxAeadKeySize = 64;

// The algorithm with IANA number `id`, if this implementation supports it.
std::optional<AeadAlgorithm> aead_from_id(std::uint16_t id);
std::size_t aead_key_size(AeadAlgorithm a);      // 32 or 64 octets (C2S and S2C keys each)
std::string_view aead_name(AeadAlgorithm a);     // "AEAD_AES_SIV_CMAC_256"

class Siv {
public:
    explicit Siv(AesBackend backend = AesBackend::best);  // openssl: for tests and comparisons
    ~Siv();
    Siv(Siv&&) noexcept;
    Siv& operator=(Siv&&) noexcept;
    Siv(const Siv&) = delete;
    Siv& operator=(const Siv&) = delete;

    using Headers = std::span<const std::span<const std::byte>>;

    // Writes SIV ‖ ciphertext (kSivTagSize + plaintext.size() octets) to `out`; returns that size.
    // Errors: a key of the wrong size or `out` too small (EX_SOFTWARE), an OpenSSL failure.
    Result<std::size_t> seal(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                             std::span<const std::byte> plaintext, std::span<std::byte> out);
    // Checks and decrypts SIV ‖ ciphertext into `out` (sealed.size() - kSivTagSize octets);
    // returns the plaintext size. Any change to key, headers or sealed: "authentication failed".
    Result<std::size_t> open(AeadAlgorithm a, std::span<const std::byte> key, Headers headers,
                             std::span<const std::byte> sealed, std::span<std::byte> out);

    // NTS's use: headers associated data, then nonce.
    Result<std::size_t> seal(AeadAlgorithm a, std::span<const std::byte> key, std::span<const std::byte> nonce,
                             std::span<const std::byte> ad, std::span<const std::byte> plaintext,
                             std::span<std::byte> out) {
        const std::span<const std::byte> h[] = {ad, nonce};
        return seal(a, key, h, plaintext, out);
    }
    Result<std::size_t> open(AeadAlgorithm a, std::span<const std::byte> key, std::span<const std::byte> nonce,
                             std::span<const std::byte> ad, std::span<const std::byte> sealed,
                             std::span<std::byte> out) {
        const std::span<const std::byte> h[] = {ad, nonce};
        return open(a, key, h, sealed, out);
    }

    // A server's client keys: set up both now, side by side (cheaper than one by one at their
    // first use), and forgotten after the response: no later message finds them set up, so every
    // message pays for its own keys (as a server with many clients does; a benchmark with one
    // client is not flattered by a cache). Their slots are overwritten by the next keys and
    // zeroed when the Siv goes.
    void prepare(AeadAlgorithm a, std::span<const std::byte> c2s, std::span<const std::byte> s2c);
    void forget(AeadAlgorithm a, std::span<const std::byte> key);
    std::uint64_t key_set_ups() const;  // keys set up so far (tests: what was kept, what not)

    // A fresh random nonce, from a pool refilled 4 KiB at a time (crypto::RandomPool).
    void random_nonce(std::span<std::byte> out);

private:
    struct Contexts;
    std::unique_ptr<Contexts> ctx_;
};

}  // namespace timepipe::nts
