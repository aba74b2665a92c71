// What an NTS-KE request and response say (RFC 8915 §4), and the rules each side checks: a
// server refuses a request with an Error record, a client refuses a response with an Error.
// Pure code over KeRecord lists (libtime/nts/ke_record.hpp).
//
//   // client                                          // server
//   auto req = encode_request(KeRequest{});            auto r = decode_request(records);
//   ... TLS ...                                        if (!r) send(encode_error(r.error().code));
//   auto resp = decode_response(records);              else send(encode_response(answer(*r, ...)));
//   if (!resp) fail(resp.error().what);
//
// Request: exactly one Next Protocol (NTPv4 = 0 offered), one AEAD list when NTPv4 is offered,
// optionally a Server and a Port (the client's wish), End of Message last; any Error, New Cookie
// or unknown critical record, a duplicate or a critical bit where the RFC requires one missing
// is a bad request (or "unrecognized critical record"); unknown non-critical records are ignored.
// Response: the same, with the one protocol and AEAD chosen, the cookies, optionally the NTP
// server and port; or an Error record.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/expected.hpp"
#include "libtime/nts/aead.hpp"
#include "libtime/nts/ke_record.hpp"

namespace timepipe::nts {

inline constexpr int kCookiesPerHandshake = 8;  // what a server sends (RFC 8915 §4: SHOULD be 8)

struct KeRequest {
    std::vector<std::uint16_t> protocols{kNextProtocolNtpv4};
    std::vector<std::uint16_t> aeads{static_cast<std::uint16_t>(AeadAlgorithm::aes_siv_cmac_256)};
    std::optional<std::string> server;  // the client's wish, which a server may ignore
    std::optional<std::uint16_t> port;
    friend bool operator==(const KeRequest&, const KeRequest&) = default;
};

struct KeResponse {
    std::optional<std::uint16_t> protocol;  // none: the server supports none offered
    std::optional<std::uint16_t> aead;
    std::vector<std::vector<std::byte>> cookies;
    std::optional<std::string> server;      // none: the NTS-KE server's own address
    std::optional<std::uint16_t> port;      // none: 123
    std::vector<std::uint16_t> warnings;
    friend bool operator==(const KeResponse&, const KeResponse&) = default;
};

// Why a server refuses a request: the Error record's code and a line for its log.
struct KeRefusal {
    KeErrorCode code = KeErrorCode::bad_request;
    std::string what;
};

std::vector<std::byte> encode_request(const KeRequest& r);
std::vector<std::byte> encode_response(const KeResponse& r);
std::vector<std::byte> encode_error(KeErrorCode code);

Expected<KeRequest, KeRefusal> decode_request(const std::vector<KeRecord>& records);
// Errors: an Error record ("server error: bad request"), a response breaking §4's rules.
Result<KeResponse> decode_response(const std::vector<KeRecord>& records);

// The server's choice: NTPv4 if offered; of the client's AEADs, in its order of preference, the
// first `supported` has. Empty optionals when there is no overlap (the response says so).
struct KeChoice {
    std::optional<std::uint16_t> protocol;
    std::optional<AeadAlgorithm> aead;
};
KeChoice choose(const KeRequest& r, std::span<const AeadAlgorithm> supported);

// A Server Negotiation body must be an ASCII host name or IP address literal (§4.1.7).
bool valid_server_name(std::string_view s);

}  // namespace timepipe::nts
