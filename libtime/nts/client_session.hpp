// One NTS client association after its key exchange (RFC 8915 §5): the session keys and the
// cookie jar. Each request spends a cookie and asks, with placeholders, for as many as the jar
// lacks (never more than 8 kept); each authenticated response refills it. Pure.
//
//   nts::ClientSession s(ke->keys, ke->response.cookies);
//   if (s.empty()) rekey();                              // no cookie left: NTS-KE again
//   auto n = s.write_request(siv, packet);               // header in packet[0..48) already
//   auto v = s.read_response(siv, datagram);             // ok, nak (rekey), or invalid (ignore)
#pragma once

#include <cstddef>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/nts/aead.hpp"
#include "libtime/nts/cookie.hpp"
#include "libtime/nts/ntp_fields.hpp"

namespace timepipe::nts {

enum class ResponseVerdict { ok, nak, invalid };

class ClientSession {
public:
    ClientSession(SessionKeys keys, std::vector<Cookie> cookies);

    bool empty() const { return cookies_.empty(); }
    std::size_t cookies() const { return cookies_.size(); }
    const SessionKeys& keys() const { return keys_; }

    // Appends the NTS fields to the request whose header is packet[0..48): a new random UID,
    // the oldest cookie, placeholders for the rest of 8. Returns the packet's length. Fails on
    // an empty jar (EX_SOFTWARE: the caller re-keys first) or a buffer too small.
    Result<std::size_t> write_request(Siv& siv, std::span<std::byte> packet);

    // Checks a datagram against the last request: ok (its cookies are in the jar now), nak (the
    // server refused our cookie: the jar is emptied, NTS-KE must run again) or invalid (not an
    // authentic answer to our request: ignore it). `why` says what failed.
    ResponseVerdict read_response(Siv& siv, std::span<const std::byte> packet, std::string* why = nullptr);

private:
    SessionKeys keys_;
    std::deque<Cookie> cookies_;
    std::vector<std::byte> uid_;  // of the request outstanding
};

}  // namespace timepipe::nts
