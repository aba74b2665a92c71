// libFuzzer target for Roughtime response verification (the client side): hostile responses
// against real requests and keys. Input: 32 octets of long-term public key, a little-endian
// uint16 request length, the request, then the response (seeds in corpus/roughtime_verify/ are
// real exchanges: Cloudflare's Google, draft 08 and draft 11 vectors, roughenough's draft 12 one).
//
// No crash, and when a response verifies:
//   - verification is a function of its input: the same call gives the same answer;
//   - what it reports is inside what it checked: MINT <= MIDP <= MAXT, RADI >= 0, the raw
//     response kept byte for byte;
//   - the response's message re-serialises to the same bytes (parse, then build);
//   - its signature is load-bearing: one flipped bit of the top-level SIG makes it fail as
//     an SREP signature failure.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/message.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

bool same(const VerifiedTime& a, const VerifiedTime& b) {
    return a.midpoint == b.midpoint && a.radius_ns == b.radius_ns && a.version == b.version && a.mint == b.mint &&
           a.maxt == b.maxt && a.online_key == b.online_key && a.response == b.response;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const bool ready = crypto::init();
    check(ready);
    if (size < 34) return 0;
    std::vector<std::byte> in(size);
    for (std::size_t i = 0; i < size; ++i) in[i] = static_cast<std::byte>(data[i]);
    crypto::PublicKey key{};
    for (std::size_t i = 0; i < key.size(); ++i) key[i] = in[i];
    const std::size_t req_len = std::to_integer<std::size_t>(in[32]) | std::to_integer<std::size_t>(in[33]) << 8;
    if (34 + req_len > size) return 0;
    const std::span<const std::byte> request = std::span<const std::byte>(in).subspan(34, req_len);
    const std::span<const std::byte> response = std::span<const std::byte>(in).subspan(34 + req_len);

    auto t = verify_response(request, response, key);
    auto again = verify_response(request, response, key);
    check(t.has_value() == again.has_value());
    if (!t) {
        check(t.error() == again.error());
        return 0;
    }
    check(same(*t, *again));
    check(t->mint <= t->midpoint && t->midpoint <= t->maxt);
    check(t->radius_ns >= 0);
    check(t->response.size() == response.size() &&
          std::equal(response.begin(), response.end(), t->response.begin()));

    // The message round-trips through the codec.
    auto body = is_framed(response) ? unframe(response) : Expected<std::span<const std::byte>, ParseError>(response);
    check(body.has_value());
    auto m = parse_message(*body);
    check(m.has_value());
    if (m->size() <= MessageBuilder::kCapacity) {
        MessageBuilder b;
        for (std::size_t i = 0; i < m->size(); ++i) b.add(m->tag_at(i), m->value_at(i));
        const auto rebuilt = b.to_vector(is_framed(response));
        check(rebuilt.size() == response.size() && std::equal(rebuilt.begin(), rebuilt.end(), response.begin()));
    }

    // The signature over SREP is load-bearing.
    const auto sig = m->find(tag::SIG);
    check(sig.has_value() && !sig->empty());
    std::vector<std::byte> forged(response.begin(), response.end());
    const auto at = static_cast<std::size_t>(sig->data() - response.data());
    forged[at] ^= std::byte{0x01};
    auto f = verify_response(request, forged, key);
    check(!f && f.error() == VerifyError::SrepSignature);
    return 0;
}
