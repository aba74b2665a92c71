// NTS extension fields on NTPv4 packets (RFC 8915 §5): what a client adds to a request and
// checks in a response, and what a server checks in a request and adds to its response.
// Pure code over packet buffers whose 48-octet header the caller has written.
//
//   // client: header in buf[0..48), then
//   auto n = write_client_request(siv, keys, uid, cookie, placeholders, buf);   // packet length
//   auto r = read_server_response(siv, keys, uid, received);   // new cookies, or why not
//   if (!r && is_nts_nak(received, uid)) ...                    // run NTS-KE again
//
//   // server, for a batch of requests
//   NtsServer nts;
//   nts.check(cookie_keys, exchanges);  // each: plain, dropped, nak (write_nak) or answered
//   ... write the answered ones' headers, then
//   nts.seal(exchanges);                // UID, authenticator and cookies appended
//
// Field layout: Unique Identifier (0x0104, at least 32 random octets, echoed), NTS Cookie
// (0x0204, one per request), Cookie Placeholder (0x0304, as long as the cookie, one per extra
// cookie wanted), Authenticator and Encrypted Extension Fields (0x0404, always the last field):
// nonce length (16 bits) | ciphertext length (16 bits) | nonce, padded to a word | ciphertext
// (SIV ‖ encrypted fields), padded to a word | padding. The associated data is the packet up to
// the authenticator. A server's new cookies travel only inside the encrypted part, and its
// response is never longer than the request (as many cookies as cookie + placeholders, at most 8).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/base/expected.hpp"
#include "libtime/nts/aead.hpp"
#include "libtime/nts/cookie.hpp"

namespace timepipe::nts {

inline constexpr std::uint16_t kFieldUniqueIdentifier = 0x0104;
inline constexpr std::uint16_t kFieldCookie = 0x0204;
inline constexpr std::uint16_t kFieldCookiePlaceholder = 0x0304;
inline constexpr std::uint16_t kFieldAuthenticator = 0x0404;
inline constexpr std::size_t kUniqueIdSize = 32;  // at least (§5.3); ours are exactly this
inline constexpr std::size_t kNonceSize = 16;     // ours; a peer's may differ (at least 1)
inline constexpr int kMaxCookies = 8;
inline constexpr std::uint32_t kKissNtsNak = 0x4E54534E;  // "NTSN"

using Cookie = std::vector<std::byte>;

// --- client ------------------------------------------------------------------------------

// Appends UID, cookie, `placeholders` placeholders and the authenticator (empty plaintext,
// sealed with C2S) after the header in out[0..48). Returns the packet's length.
Result<std::size_t> write_client_request(Siv& siv, const SessionKeys& keys, std::span<const std::byte> uid,
                                         std::span<const std::byte> cookie, int placeholders,
                                         std::span<std::byte> out);

// Checks a response to the request that carried `uid`: the same UID, an authenticator that is
// the last field and opens with S2C. Returns the cookies from inside the encrypted part (none
// is an error: "no cookie in the response"). Errors say what failed; a NAK is one of them.
Result<std::vector<Cookie>> read_server_response(Siv& siv, const SessionKeys& keys, std::span<const std::byte> uid,
                                                 std::span<const std::byte> packet);

// An NTS NAK (§5.7): kiss code NTSN at stratum 0 with our UID, and no valid authenticator.
bool is_nts_nak(std::span<const std::byte> packet, std::span<const std::byte> uid);

// --- server ------------------------------------------------------------------------------

// One request of a batch a server answers, and what became of it.
struct ServerExchange {
    std::span<const std::byte> request;  // as received
    std::span<std::byte> reply;          // its first 48 octets: the response's header, written

    enum class Verdict {
        plain,     // not an NTS request (no UID, cookie or authenticator): answer it as it is
        dropped,   // a malformed NTS request: no answer
        nak,       // a cookie or authenticator that does not open: an NTS NAK (write_nak) with `uid`
        answered,  // after check(): to be answered, once its header is written (seal());
                   // after seal(): reply[0..length) is the response — UID, and the
                   // authenticator with `cookies` fresh cookies under S2C
    };
    Verdict verdict = Verdict::plain;
    std::string what;                // dropped, nak: why
    std::span<const std::byte> uid;  // nak, answered: the request's (points into it)
    std::size_t length = 0;          // answered and sealed: the response's length, never above the request's
    int cookies = 0;                 // answered: how many (cookie + placeholders, at most 8)
    std::size_t slot = 0;            // NtsServer's: where check() left the request's keys for seal()
};

// A server's side of NTS (RFC 8915 §5) for a batch of requests: each cookie opened with the
// master key it names, each authenticator checked with the cookie's C2S, each request's new
// cookies sealed under the current master key, each response sealed under S2C — every step
// for the whole batch at once, so the AES work of several requests runs side by side (one
// request's CMAC chains keep the AES unit a third busy). The clients' keys are set up for
// each request and not kept: every message pays for its own, as with many clients.
// One per thread (it holds the batch's keys and buffers).
class NtsServer {
public:
    NtsServer();
    ~NtsServer();
    NtsServer(const NtsServer&) = delete;
    NtsServer& operator=(const NtsServer&) = delete;

    // Everything: check() then seal().
    void answer(const CookieKeys& keys, std::span<ServerExchange> batch);
    // The steps that need only the requests — cookies opened, authenticators checked, new
    // cookies sealed — for the whole batch; then each response sealed once its header (with
    // its transmit time) is written: any subset of the checked batch, in any grouping, before
    // the next check(). Exchanges whose verdict is not `answered` are passed over.
    void check(const CookieKeys& keys, std::span<ServerExchange> batch);
    void seal(std::span<ServerExchange> exchanges);
    Siv& siv();  // its SIV (key_set_ups, random nonces)

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Appends the request's UID after a NAK header (stratum 0, kiss code NTSN) the caller wrote.
Result<std::size_t> write_nak(std::span<const std::byte> uid, std::span<std::byte> out);

}  // namespace timepipe::nts
