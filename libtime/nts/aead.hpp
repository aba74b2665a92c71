// The AEAD algorithms NTS negotiates (RFC 8915 §5.1, IANA "AEAD Algorithms"): AES-SIV-CMAC-256
// (15, mandatory) and AES-SIV-CMAC-512 (17), RFC 5297 SIV mode. NTS passes two
// header components to S2V: the associated data, then the nonce (RFC 5297 §3, RFC 8915 §5.6).
//
//   Siv siv;                                              // one per thread: holds key schedules
//   std::vector<std::byte> sealed(kSivTagSize + plain.size());
//   auto n = siv.seal(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, plain, sealed);  // SIV ‖ C
//   auto m = siv.open(AeadAlgorithm::aes_siv_cmac_256, key, nonce, ad, sealed, plain);  // or error
//
//   SivKey k; k.set(AeadAlgorithm::aes_siv_cmac_256, key);  // a key the caller holds
//   Siv::Job jobs[] = {...};  siv.run(jobs);                // many seals and opens side by side
//
// Built here on AES keys that are cheap to change (nts/aes_key: AES-NI, or OpenSSL's AES-CBC and
// AES-ECB): OpenSSL's own AES-SIV sets up new contexts at every key change (several microseconds
// per NTS message), and before 3.5 refuses an empty plaintext (openssl#17268), which an NTS
// request has. Unit tests check it against RFC 5297, Wycheproof and OpenSSL's AES-SIV.
#pragma once

#include <array>
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

// One AES-SIV key set up (RFC 5297): K1 for S2V's CMACs, K2 for CTR, CMAC's subkeys and
// CMAC(K1, 0). The caller holds it while the key is in use (a server holds a client's two for
// one request); set() only stores the key, the first Siv::run that uses it sets it up, side by
// side with the other new keys of that run. Zeroed when it goes.
class SivKey {
public:
    explicit SivKey(AesBackend b = AesBackend::best) : k1_(b), k2_(b) {}
    ~SivKey();
    SivKey(const SivKey&) = delete;
    SivKey& operator=(const SivKey&) = delete;

    // aead_key_size(a) octets; another size leaves the key unset (its jobs fail).
    void set(AeadAlgorithm a, std::span<const std::byte> key);
    bool is_set() const { return key_size_ != 0; }

private:
    friend class Siv;
    AesKey k1_, k2_;
    std::array<unsigned char, 16> sub1_{}, sub2_{};  // CMAC subkeys (RFC 4493 §2.3)
    std::array<unsigned char, 16> d0_{};             // CMAC(K1, zero block): S2V's first step
    std::size_t key_size_ = 0;
    bool set_up_ = false;
};

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

    // Several seals and opens at once, each job's result what seal() or open() would give: the
    // CMAC chains of all jobs run four in lock step, each under its own key, which one message's
    // few short chains cannot do (the AES unit would wait on one chain). A server answers a
    // batch of requests a step at a time this way (NtsServer).
    struct Job {
        bool seal = true;  // false: open
        SivKey* key = nullptr;
        Headers headers;                 // must live until run() returns
        std::span<const std::byte> in;   // seal: the plaintext; open: SIV ‖ ciphertext
        std::span<std::byte> out;        // seal: SIV ‖ ciphertext; open: the plaintext
        Result<std::size_t> result{std::size_t{0}};
    };
    void run(std::span<Job> jobs);

    std::uint64_t key_set_ups() const;  // keys set up so far (tests: what was kept, what not)

    // A fresh random nonce, from a pool refilled 4 KiB at a time (crypto::RandomPool).
    void random_nonce(std::span<std::byte> out);

private:
    struct Contexts;
    std::unique_ptr<Contexts> ctx_;
};

}  // namespace timepipe::nts
