// PHC samples (libtime/refclock/phc_offset's phc_sample) fed to the discipline
// (libtime/discipline): a PTP hardware clock 5 ms ahead of the system clock is a source the
// discipline selects and follows, as chronyd follows `refclock PHC`. Fake readings: this
// machine has no PHC.
#include <gtest/gtest.h>

#include "libtime/discipline/discipline.hpp"
#include "libtime/refclock/phc_offset.hpp"

using namespace timepipe;
using namespace timepipe::refclock;

TEST(RefclockPhcDiscipline, DisciplineFollowsAPhc) {
    discipline::Discipline d(discipline::DisciplineConfig{});
    constexpr UnixNanos kStart = 1'700'000'000'000'000'000;
    constexpr std::int64_t kTai = 37'000'000'000;
    double corrected = 0;
    bool tracked = false;
    for (int i = 0; i < 16; ++i) {
        // A TAI PHC 5 ms ahead of UTC system time, minus what the discipline already corrected.
        const auto ahead = static_cast<std::int64_t>((5e-3 - corrected) * 1e9);
        PhcMeasurement m{.method = PhcMethod::extended, .time = kStart + i * kNanosPerSecond,
                         .offset_ns = kTai + ahead, .delay_ns = 800, .readings = 10};
        auto out = d.on_record(to_record(phc_sample(m, "phc://ptp0", -kTai, 0)));
        ASSERT_TRUE(out) << out.error().what;
        for (const auto& rec : out->records) {
            if (record_type(rec) == Adjust::kType) {
                auto a = from_record<Adjust>(rec);
                ASSERT_TRUE(a);
                EXPECT_EQ(a->source, "phc://ptp0");
                corrected += a->step.value_or(0) + a->slew.value_or(0);
            } else if (record_type(rec) == Tracking::kType) {
                auto t = from_record<Tracking>(rec);
                ASSERT_TRUE(t);
                if (t->synchronised) {
                    tracked = true;
                    EXPECT_EQ(t->source, "phc://ptp0");
                    EXPECT_EQ(t->stratum, 1);  // a PHC is a reference clock: stratum 0 + 1
                    EXPECT_EQ(t->refid, "PHC");
                }
            }
        }
    }
    EXPECT_TRUE(tracked);
    EXPECT_NEAR(corrected, 5e-3, 1e-3) << "the discipline moved the clock towards the PHC";
}
