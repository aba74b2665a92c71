// libFuzzer target for the leap-seconds.list parser (and the driftfile's line): nothing crashes,
// and a table that parses keeps its rules: times strictly increasing at midnight, TAI-UTC changing
// by one second, leap_on_day 0-2 at every entry's day.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "libtime/discipline/driftfile.hpp"
#include "libtime/discipline/leap_file.hpp"

using namespace timepipe;
using namespace timepipe::discipline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(data, data + size);
    if (auto t = parse_leap_file(text)) {
        if (t->entries.empty()) std::abort();
        for (std::size_t i = 1; i < t->entries.size(); ++i) {
            const auto& a = t->entries[i - 1];
            const auto& b = t->entries[i];
            if (b.ntp_seconds <= a.ntp_seconds || b.ntp_seconds % 86400 != 0) std::abort();
            if (b.tai_offset - a.tai_offset != 1 && b.tai_offset - a.tai_offset != -1) std::abort();
            UnixNanos before = (b.ntp_seconds - kNtpToUnixSeconds - 1) * kNanosPerSecond;
            int leap = leap_on_day(*t, before);
            if (leap != (b.tai_offset > a.tai_offset ? 1 : 2)) std::abort();
        }
        (void)leap_file_expired(*t, 0);
    }
    if (auto d = parse_driftfile(text)) {
        if (!(d->frequency >= -500 && d->frequency <= 500) || !(d->skew >= 0)) std::abort();
        auto back = parse_driftfile(format_driftfile(*d));
        if (!back) std::abort();
    }
    return 0;
}
