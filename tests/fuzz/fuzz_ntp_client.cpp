// libFuzzer target for the NTP client: arbitrary bytes as the reply to an outstanding request,
// basic or (RFC 9769) interleaved. Never crash; never accept, nor believe a kiss from, a reply
// whose origin is not what the request asked to be echoed; every accepted sample is finite, and
// so is what an unsynchronised server's reply measured.
//
// Input: one octet of flags (bit 0: interleaved client), then the datagram. The random source
// is a counter from 0x5EED000000000001, so seeds can carry matching origins:
//   basic:       the request's transmit is 0x5EED000000000001
//   interleaved: a warm-up exchange (transmit ...01) is answered here with receive 0xE0000001
//                00000000; the request under test has transmit ...02 and receive cookie ...03
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/ntp/client.hpp"

using namespace timepipe;
using namespace timepipe::ntp;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

constexpr UnixNanos kT1 = 1'700'000'000 * kNanosPerSecond;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool interleaved = (data[0] & 1) != 0;
    const std::span<const std::byte> reply(reinterpret_cast<const std::byte*>(data + 1), size - 1);

    std::uint64_t counter = 0x5EED000000000000ULL;
    ClientConfig config;
    config.interleaved = interleaved;
    Client client(config, [&counter] { return ++counter; });

    if (interleaved) {  // a valid first exchange, so the next request refers to it
        Header warm = client.next_request();
        client.on_sent(kT1 - kNanosPerSecond);
        Header answer;
        answer.mode = Mode::Server;
        answer.stratum = 2;
        answer.origin = warm.transmit;
        answer.receive = NtpTimestamp{0xE000000100000000ULL};
        answer.transmit = NtpTimestamp{0xE000000100010000ULL};
        std::byte buf[kHeaderSize];
        auto n = serialize(answer, {}, std::nullopt, buf);
        check(n.has_value());
        auto m = client.on_reply(std::span<const std::byte>(buf, *n), kT1 - kNanosPerSecond + 5'000'000);
        (void)m;
    }

    const Header request = client.next_request();
    client.on_sent(kT1);
    auto m = client.on_reply(reply, kT1 + 5'000'000);
    const auto echoed = [&](NtpTimestamp origin) {
        return origin == request.transmit || (!request.receive.is_zero() && origin == request.receive);
    };
    if (m) {
        check(echoed(m->header.origin));
        check(m->header.mode == Mode::Server);
        check(m->interleaved == (m->header.origin == request.receive && !request.receive.is_zero()));
        check(std::isfinite(m->sample.offset) && std::isfinite(m->sample.delay) &&
              std::isfinite(m->sample.dispersion) && m->sample.delay >= 0);
        check(m->root_distance <= config.max_root_distance);
        check(!client.outstanding());
    } else {
        const Rejection& r = m.error();
        check(!to_string(r.reason).empty());
        if (r.reason == Reject::KissOfDeath) {
            auto p = parse(reply);
            check(p.has_value() && echoed(p->header.origin) && acts_as_kiss(p->header));
        }
        check(!r.measured || r.reason == Reject::Unsynchronised);
        if (r.measured) {  // shown to the user, never used: still finite, still ours
            const Header& h = r.measured->header;
            check(h.leap == Leap::Unsynchronized || h.stratum == 0 || h.stratum >= kMaxStratum);
            check(echoed(h.origin));
            check(std::isfinite(r.measured->sample.offset) && std::isfinite(r.measured->sample.delay) &&
                  std::isfinite(r.measured->sample.dispersion));
        }
        check(client.outstanding() == !ends_exchange(r.reason));
        (void)r.code_string();
    }
    (void)refid_text(request);
    return 0;
}
