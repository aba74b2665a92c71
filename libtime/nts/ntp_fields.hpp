// NTS extension fields on NTPv4 packets (RFC 8915 §5): what a client adds to a request and
// checks in a response, and what a server checks in a request and adds to its response.
// Pure code over packet buffers whose 48-octet header the caller has written.
//
//   // client: header in buf[0..48), then
//   auto n = write_client_request(siv, keys, uid, cookie, placeholders, buf);   // packet length
//   auto r = read_server_response(siv, keys, uid, received);   // new cookies, or why not
//   if (!r && is_nts_nak(received, uid)) ...                    // run NTS-KE again
//
//   // server
//   auto q = read_client_request(siv, cookie_keys, received);  // session keys, UID, cookies wanted
//   if (!q) q.error().nak ? answer with write_nak(...) : drop;
//   auto n = write_server_response(siv, *q, fresh_cookies, buf, received.size());
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

struct ClientRequest {
    SessionKeys keys;            // from the cookie
    std::vector<std::byte> uid;  // echoed in the response
    std::size_t cookie_size = 0;
    int cookies_wanted = 1;      // cookie + placeholders, at most 8
};

struct RequestRefusal {
    bool nts = false;  // the request is an NTS request (else: plain NTP, or not ours to judge)
    bool nak = false;  // answer with an NTS NAK (a cookie or authenticator that does not open)
    std::string what;
    std::vector<std::byte> uid;  // with nak: the request's UID, which the NAK carries
};

// Checks an NTS request. Not NTS at all (no UID, cookie or authenticator): refusal with nts
// false. Malformed: nts true, no NAK (dropped). Cookie or authenticator that does not open:
// nak true.
Expected<ClientRequest, RequestRefusal> read_client_request(Siv& siv, const CookieKeys& keys,
                                                            std::span<const std::byte> packet);

// Appends the UID and the authenticator (new cookies encrypted under S2C), padded so the
// response is as long as the request when it would be shorter. Returns the packet's length;
// errors when it would exceed `request_size` or `out`.
Result<std::size_t> write_server_response(Siv& siv, const ClientRequest& req, std::span<const Cookie> cookies,
                                          std::span<std::byte> out, std::size_t request_size);

// Appends the request's UID after a NAK header (stratum 0, kiss code NTSN) the caller wrote.
Result<std::size_t> write_nak(std::span<const std::byte> uid, std::span<std::byte> out);

}  // namespace timepipe::nts
