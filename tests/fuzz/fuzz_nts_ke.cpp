// What nts-ke does with bytes from a TLS peer, both sides: the stream cut at the first byte's
// value into pieces → KeMessageReader → decode_request (server) and decode_response (client).
// Nothing crashes; a message the reader returns re-encodes record for record; an accepted
// request or response re-encodes to one that decodes to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/nts/ke_message.hpp"
#include "libtime/nts/ke_record.hpp"

using namespace timepipe;
using namespace timepipe::nts;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t piece = 1 + data[0] % 64;
    auto bytes = std::as_bytes(std::span(data + 1, size - 1));
    KeMessageReader in;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        in.feed(bytes.subspan(at, std::min(piece, bytes.size() - at)));
        auto m = in.message();
        if (!m) return 0;
        if (!*m) continue;
        const auto& records = **m;
        check(!records.empty() && records.back().type == 0);
        std::vector<std::byte> again;
        for (const auto& r : records) append_record(again, r);
        auto reparsed = parse_ke_message(again);
        check(reparsed && *reparsed == records);

        if (auto req = decode_request(records)) {
            auto back = decode_request(*parse_ke_message(encode_request(*req)));
            check(back && *back == *req);
        }
        if (auto resp = decode_response(records)) {
            check(!resp->cookies.empty() && resp->aead && resp->protocol == kNextProtocolNtpv4);
            auto back = decode_response(*parse_ke_message(encode_response(*resp)));
            check(back && *back == *resp);
        }
        return 0;
    }
    return 0;
}
