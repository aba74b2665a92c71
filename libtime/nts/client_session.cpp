#include "libtime/nts/client_session.hpp"

#include <algorithm>
#include <sysexits.h>

#include "libtime/base/crypto.hpp"

namespace timepipe::nts {

ClientSession::ClientSession(SessionKeys keys, std::vector<Cookie> cookies) : keys_(std::move(keys)) {
    for (auto& c : cookies)
        if (cookies_.size() < static_cast<std::size_t>(kMaxCookies)) cookies_.push_back(std::move(c));
}

Result<std::size_t> ClientSession::write_request(Siv& siv, std::span<std::byte> packet) {
    if (cookies_.empty()) return fail("no NTS cookie left", EX_SOFTWARE);
    uid_.assign(kUniqueIdSize, std::byte{0});
    crypto::random_bytes(uid_);
    Cookie cookie = std::move(cookies_.front());
    cookies_.pop_front();
    // Ask for what the jar lacks: the answer brings one cookie per cookie and placeholder sent.
    const int wanted = kMaxCookies - static_cast<int>(cookies_.size());
    return write_client_request(siv, keys_, uid_, cookie, std::max(0, wanted - 1), packet);
}

ResponseVerdict ClientSession::read_response(Siv& siv, std::span<const std::byte> packet, std::string* why) {
    if (uid_.empty()) {
        if (why) *why = "no request outstanding";
        return ResponseVerdict::invalid;
    }
    auto r = read_server_response(siv, keys_, uid_, packet);
    if (!r) {
        if (why) *why = r.error().what;
        if (is_nts_nak(packet, uid_)) {
            cookies_.clear();
            uid_.clear();
            return ResponseVerdict::nak;
        }
        return ResponseVerdict::invalid;
    }
    for (auto& c : *r)
        if (cookies_.size() < static_cast<std::size_t>(kMaxCookies)) cookies_.push_back(std::move(c));
    uid_.clear();  // one answer per request: a replay of it is refused
    return ResponseVerdict::ok;
}

}  // namespace timepipe::nts
