// libFuzzer target for pps-capture's simulated-device format (libtime/sys/pps_sim) and what the
// tool does with its edges (libtime/refclock/pps): nothing crashes or overflows; every line that
// parses formats back to a line that parses to the same; every pulse is decided exactly once,
// and a sample's offset is finite and within a second of the pulse.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "libtime/refclock/pps.hpp"
#include "libtime/sys/pps_sim.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(data, data + size);
    PpsSequence seq;
    PpsPairer pairer(PpsConfig{});
    std::size_t pulses = 0, decided = 0;
    auto check = [&](const std::vector<PpsOutcome>& outs) {
        for (const auto& o : outs) {
            ++decided;
            if (o.kind == PpsOutcome::Kind::sample &&
                (!std::isfinite(o.sample.offset) || std::fabs(o.sample.offset) >= 1.0 || o.sample.dispersion < 0))
                std::abort();
        }
    };
    std::string_view rest = text;
    while (!rest.empty()) {
        auto nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
        auto parsed = parse_pps_sim_line(line);
        if (!parsed) continue;
        auto back = parse_pps_sim_line(format_pps_sim_line(*parsed));
        if (!back || !(*back == *parsed)) std::abort();
        if (parsed->kind != PpsSimLine::Kind::fetch) continue;
        const auto& f = parsed->fetch;
        auto v = seq.on_edge(f.assert_sequence, f.assert_time);
        if (v != PpsSequence::Verdict::pulse && v != PpsSequence::Verdict::backwards) continue;
        // The clear edge's fields stand in for a coarse sample: its time (moved far back when
        // the sequence is odd: a stream's times may be anything), and an offset of -0.5..0.5 s.
        UnixNanos coarse_time = f.clear_sequence % 2 ? f.clear_time - INT64_MAX : f.clear_time;
        pairer.add_coarse(CoarseSecond{coarse_time, static_cast<double>(f.clear_sequence % 1001) / 1000.0 - 0.5, 0});
        pairer.add_pulse(f.assert_time);
        ++pulses;
        check(pairer.advance(f.assert_time));
    }
    check(pairer.finish());
    if (decided != pulses || pairer.pending() != 0) std::abort();
    return 0;
}
