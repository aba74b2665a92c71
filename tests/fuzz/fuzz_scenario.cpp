// libFuzzer target for clocksim's scenario parser: nothing crashes; whatever parses passes
// check_scenario, has finite values within their ranges, and a short simulation of it (duration
// cut to 50 s, an empty adjust for every sample) runs to the end.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libtime/sim/scenario.hpp"
#include "libtime/sim/simulator.hpp"

using namespace timepipe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(data, data + size);
    auto sc = sim::parse_scenario(text);
    if (!sc) {
        if (sc.error().what.empty()) std::abort();
        return 0;
    }
    if (!sim::check_scenario(*sc)) std::abort();
    if (!std::isfinite(sc->offset) || !std::isfinite(sc->wander) || sc->servers < 1 || sc->servers > 64) std::abort();
    sc->duration = std::min(sc->duration, 50.0);
    sim::Simulator s(*sc);
    auto f = s.run([](const Sample& smp) -> Result<Adjust> {
        if (!std::isfinite(smp.offset) || !(smp.delay >= 0)) std::abort();
        return Adjust{};
    });
    if (!f || !std::isfinite(f->late_rms)) std::abort();
    return 0;
}
