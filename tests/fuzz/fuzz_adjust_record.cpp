// What clockadj does with arbitrary input: CBOR bytes → StreamDecoder → from_record<Adjust> →
// plan_adjust, carrying the state from record to record as clockadj does. Properties of every
// plan that passes: the kernel frequency within ±500 ppm and the tick within ±10 % of nominal
// (USER_HZ 100, as on CLOCK_REALTIME), a step's tv_nsec in [0, 1e9) and the
// step within --max-step, the slew's end not in the past, the applied record valid.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "libtime/discipline/clock_plan.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"

using namespace timepipe;
namespace dsc = timepipe::discipline;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void check_plan(const dsc::Plan& p, const dsc::PlanOptions& opt, std::int64_t mono) {
    check(std::llabs(p.rate.freq_scaled) <= 500LL * dsc::kScaledPerPpm);
    check(p.rate.tick >= 9'000 && p.rate.tick <= 11'000);
    if (p.step) {
        check(p.step->nsec >= 0 && p.step->nsec < kNanosPerSecond);
        check(std::fabs(static_cast<double>(p.step->sec)) <= opt.max_step + 1);
    }
    if (p.next.slewing()) check(p.next.slew_end >= mono);
    check(static_cast<bool>(from_record<Applied>(to_record(p.applied))));
    auto bytes = encode_record(to_record(p.applied));
    check(static_cast<bool>(bytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    StreamDecoder dec;
    dec.feed(std::as_bytes(std::span(data, size)));
    dec.finish();
    dsc::PlanOptions opt;
    opt.tick_hz = 100;
    dsc::ClockState st;
    const UnixNanos now = 1'700'000'000LL * kNanosPerSecond;
    std::int64_t mono = 1'000 * kNanosPerSecond;
    for (int i = 0; i < 64; ++i) {
        auto r = dec.next();
        if (!r || !*r) break;
        auto a = from_record<Adjust>(**r);
        if (!a) continue;
        mono += kNanosPerSecond;
        if (st.slewing() && mono >= st.slew_end) st = dsc::end_slew(st, opt, now).next;
        auto p = dsc::plan_adjust(*a, st, opt, now, mono);
        if (!p) continue;
        check_plan(*p, opt, mono);
        st = p->next;
    }
    return 0;
}
