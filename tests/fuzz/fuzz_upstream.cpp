// What ntp-serve and roughtime-serve do with an --upstream stream: CBOR bytes → StreamDecoder →
// sample and tracking records → UpstreamReference, the clock moving on between records. Nothing
// crashes, and whatever is served is sane: synchronised means a stratum of 1 to 15 and finite,
// non-negative root delay and dispersion.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/server/upstream_reference.hpp"
#include "libtime/stream/codec.hpp"

using namespace timepipe;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    StreamDecoder dec;
    dec.feed(std::as_bytes(std::span(data, size)));
    dec.finish();
    UpstreamReference ref;
    UnixNanos now = 1'700'000'000LL * kNanosPerSecond;
    for (int i = 0; i < 256; ++i) {
        auto r = dec.next();
        if (!r || !*r) break;
        const auto type = record_type(**r);
        if (type == Sample::kType) {
            if (auto s = from_record<Sample>(**r)) (void)ref.add(*s, now);
        } else if (type == Tracking::kType) {
            if (auto t = from_record<Tracking>(**r)) (void)ref.add(*t, now);
        }
        ref.update(now);
        now += static_cast<UnixNanos>(i % 7) * 37 * kNanosPerSecond;
        UpstreamTime t = ref.at(now);
        if (t.synchronised) {
            check(t.stratum >= 1 && t.stratum <= 15);
            check(std::isfinite(t.root_delay) && t.root_delay >= 0);
            check(std::isfinite(t.root_dispersion) && t.root_dispersion >= 0);
        }
        (void)ref.state_at(now, -20);
    }
    return 0;
}
