// libtime/discipline/clock_plan: what clockadj asks the kernel for, per record field — the
// 2^-16 ppm rounding, the negative-step encoding, slews as a temporary frequency within ±500
// ppm, leap armed only on its day, and refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "libtime/discipline/clock_plan.hpp"

using namespace timepipe;
using namespace timepipe::discipline;

namespace {

constexpr std::int64_t kDay = 86'400 * kNanosPerSecond;
constexpr UnixNanos kNoon = 20'000 * kDay + kDay / 2;  // 2024-10-04 12:00 UTC
constexpr std::int64_t kMono = 5'000 * kNanosPerSecond;

Adjust adjust() {
    Adjust a;
    a.source = "ntp://192.0.2.1:123";
    a.time = kNoon;
    return a;
}

Plan plan(const Adjust& a, const ClockState& st = {}, PlanOptions opt = {}, UnixNanos now = kNoon,
          std::int64_t mono = kMono) {
    auto p = plan_adjust(a, st, opt, now, mono);
    EXPECT_TRUE(p) << p.error().what;
    return p ? *p : Plan{};
}

std::string refusal(const Adjust& a, const ClockState& st = {}, PlanOptions opt = {}) {
    auto p = plan_adjust(a, st, opt, kNoon, kMono);
    if (p) return "no error";
    EXPECT_EQ(p.error().exit_code, EX_DATAERR);
    return p.error().what;
}

TEST(ClockPlan, FrequencyIsIn2To16PpmRoundedToNearest) {
    EXPECT_EQ(ppm_to_scaled(1), 65536);
    EXPECT_EQ(ppm_to_scaled(-1), -65536);
    EXPECT_EQ(ppm_to_scaled(500), 500 * 65536);
    EXPECT_EQ(ppm_to_scaled(1.0 / 65536 * 0.49), 0);
    EXPECT_EQ(ppm_to_scaled(1.0 / 65536 * 0.51), 1);
    EXPECT_EQ(ppm_to_scaled(-1.0 / 65536 * 0.51), -1);
    EXPECT_EQ(ppm_to_scaled(12.345678), 809086);  // 12.345678 × 65536 = 809085.9...
    EXPECT_DOUBLE_EQ(scaled_to_ppm(65536 * 3 / 2), 1.5);
    auto a = adjust();
    a.frequency = -12.5;
    auto p = plan(a);
    EXPECT_EQ(p.rate.freq_scaled, -819200);
    EXPECT_EQ(p.applied.frequency, -12.5);
    EXPECT_FALSE(p.step);
    EXPECT_EQ(p.next.base_ppm, -12.5);
}

TEST(ClockPlan, NegativeStepHasNegativeSecondsAndNanosecondsInRange) {
    EXPECT_EQ(step_encoding(-0.3), (StepSpec{-1, 700'000'000}));
    EXPECT_EQ(step_encoding(0.3), (StepSpec{0, 300'000'000}));
    EXPECT_EQ(step_encoding(-1.0), (StepSpec{-1, 0}));
    EXPECT_EQ(step_encoding(-2.5), (StepSpec{-3, 500'000'000}));
    EXPECT_EQ(step_encoding(-1e-9), (StepSpec{-1, 999'999'999}));
    EXPECT_EQ(step_encoding(0), (StepSpec{0, 0}));
    EXPECT_EQ(step_encoding(-1e9), (StepSpec{-1'000'000'000, 0}));
    for (double s : {-999.999999999, -0.5, -1e-6, 1e-6, 123.456789}) {
        auto e = step_encoding(s);
        EXPECT_GE(e.nsec, 0) << s;
        EXPECT_LT(e.nsec, kNanosPerSecond) << s;
        EXPECT_NEAR(static_cast<double>(e.sec) + static_cast<double>(e.nsec) / 1e9, s, 1e-9) << s;
    }
}

TEST(ClockPlan, StepWithinMaxStepIsPlannedBeyondIsRefused) {
    auto a = adjust();
    a.step = -0.3;
    a.reason = "start";
    auto p = plan(a);
    ASSERT_TRUE(p.step);
    EXPECT_EQ(*p.step, (StepSpec{-1, 700'000'000}));
    EXPECT_EQ(p.applied.step, -0.3);
    a.step = 1000.5;
    EXPECT_EQ(refusal(a), "adjust: \"step\": 1000.5 s is beyond --max-step 1000 s");
    a.step = -2;
    PlanOptions opt;
    opt.max_step = 1;
    EXPECT_EQ(refusal(a, {}, opt), "adjust: \"step\": -2 s is beyond --max-step 1 s");
}

TEST(ClockPlan, SlewIsATemporaryFrequencyOnTopOfTheBase) {
    auto a = adjust();
    a.frequency = 10;
    a.slew = 0.001;
    a.slew_duration = 100;  // 10 ppm for 100 s
    auto p = plan(a);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(20));
    EXPECT_EQ(p.next.base_ppm, 10);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, 10);
    EXPECT_EQ(p.next.slew_end, kMono + 100 * kNanosPerSecond);
    EXPECT_EQ(p.applied.slew, 0.001);
    EXPECT_EQ(p.applied.slew_duration, 100);
    EXPECT_NEAR(p.next.slew_remaining(kMono + 50 * kNanosPerSecond), 0.0005, 1e-12);

    auto e = end_slew(p.next, {}, kNoon + 100 * kNanosPerSecond);
    EXPECT_EQ(e.rate.freq_scaled, ppm_to_scaled(10));
    EXPECT_FALSE(e.next.slewing());
    EXPECT_EQ(e.applied.frequency, 10);
    EXPECT_FALSE(e.applied.slew);
}

TEST(ClockPlan, SlewWithoutDurationRunsAtTheRoomLeftTo500Ppm) {
    auto a = adjust();
    a.frequency = 100;
    a.slew = -0.5;  // negative: room 600? no: total may reach -500, so 600 ppm below +100
    auto p = plan(a);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, -600);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(-500));
    a.slew = 0.5;  // positive: 400 ppm up to +500
    p = plan(a);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, 400);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(500));
    EXPECT_NEAR(*p.applied.slew_duration, 0.5 / 400e-6, 1e-6);
}

TEST(ClockPlan, SlewTooFastForItsDurationIsStretched) {
    auto a = adjust();
    a.frequency = 0;
    a.slew = 1;
    a.slew_duration = 1;  // 1e6 ppm asked
    auto p = plan(a);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, 500);
    EXPECT_NEAR(*p.applied.slew_duration, 2000, 1e-6);
    a.frequency = 500;  // no room at all
    EXPECT_EQ(refusal(a), "adjust: \"slew\": no room within ±500 ppm over \"frequency\" 500 ppm");
}

// ADJ_TICK (USER_HZ 100: nominal tick 10000 µs, each µs 100 ppm) carries what ADJ_FREQUENCY's
// ±500 ppm cannot; the tick stays nominal while the frequency alone fits.
TEST(ClockPlan, KernelRateSplitsIntoTickAndFrequency) {
    EXPECT_EQ(nominal_tick(100), 10'000);
    EXPECT_EQ(nominal_tick(1000), 1'000);
    EXPECT_EQ(kernel_rate(12.5, 100), (KernelRate{ppm_to_scaled(12.5), 10'000}));
    EXPECT_EQ(kernel_rate(500, 100), (KernelRate{ppm_to_scaled(500), 10'000}));
    EXPECT_EQ(kernel_rate(-500, 100), (KernelRate{ppm_to_scaled(-500), 10'000}));
    EXPECT_EQ(kernel_rate(501, 100), (KernelRate{ppm_to_scaled(401), 10'001}));
    EXPECT_EQ(kernel_rate(83'333.3, 100), (KernelRate{ppm_to_scaled(433.3), 10'829}));
    EXPECT_EQ(kernel_rate(-83'333.3, 100), (KernelRate{ppm_to_scaled(-433.3), 9'171}));
    EXPECT_EQ(kernel_rate(1e6, 100), (KernelRate{ppm_to_scaled(500), 10'995}));  // clamped to +10 %
    EXPECT_EQ(kernel_rate(-1e6, 100), (KernelRate{ppm_to_scaled(-500), 9'005}));  // and -10 %
    EXPECT_EQ(kernel_rate(1000, 0), (KernelRate{ppm_to_scaled(500), 0}));  // no tick: ±500 ppm
    for (double ppm : {0.0, 499.9, 501.0, -777.77, 12'345.6, -99'999.0})
        EXPECT_NEAR(rate_ppm(kernel_rate(ppm, 100), 100), ppm, 1e-4) << ppm;
    EXPECT_NEAR(rate_ppm({ppm_to_scaled(-20), 9'990}, 100), -1020, 1e-9);
    EXPECT_NEAR(rate_ppm({ppm_to_scaled(-20), 0}, 100), -20, 1e-9);  // a PTP reading
}

TEST(ClockPlan, SlewWithADurationUsesTheTickUpToTenPercent) {
    PlanOptions rt;
    rt.tick_hz = 100;
    auto a = adjust();
    a.frequency = 10;
    a.slew = 0.5;
    a.slew_duration = 6;  // 83 333 ppm, as discipline asks to remove 0.5 s quickly
    auto p = plan(a, {}, rt);
    EXPECT_NEAR(p.next.slew_rate_ppm, 0.5 / 6 * 1e6, 1e-6);
    EXPECT_EQ(p.applied.slew_duration, 6);  // not stretched
    EXPECT_EQ(p.rate.tick, 10'000 + 829);
    EXPECT_NEAR(rate_ppm(p.rate, 100), 10 + 0.5 / 6 * 1e6, 1e-4);
    EXPECT_EQ(p.next.slew_end, kMono + 6 * kNanosPerSecond);
    auto e = end_slew(p.next, rt, kNoon + 6 * kNanosPerSecond);  // back to the base, nominal tick
    EXPECT_EQ(e.rate, (KernelRate{ppm_to_scaled(10), 10'000}));

    a.slew = -1;
    a.slew_duration = 1;  // -1e6 ppm asked: -10 % in total
    p = plan(a, {}, rt);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, -100'010);
    EXPECT_NEAR(*p.applied.slew_duration, 1 / 100'010e-6, 1e-6);
    EXPECT_EQ(p.rate, (KernelRate{ppm_to_scaled(-500), 9'005}));

    a.slew = 0.5;  // without a duration: adjtime's 500 ppm in total, even with a tick
    a.slew_duration.reset();
    p = plan(a, {}, rt);
    EXPECT_DOUBLE_EQ(p.next.slew_rate_ppm, 490);
    EXPECT_EQ(p.rate, (KernelRate{ppm_to_scaled(500), 10'000}));

    PlanOptions ptp;  // no tick: ±500 ppm, the slew stretched
    a.slew_duration = 6;
    EXPECT_DOUBLE_EQ(plan(a, {}, ptp).next.slew_rate_ppm, 490);
    EXPECT_EQ(plan(a, {}, ptp).rate.tick, 0);
}

// Found by fuzz_adjust_record: 892 s at the 400 ppm left over +100 ppm takes 2.2e6 s, longer
// than an adjust record may ask for; the applied record that reports it must still be valid.
TEST(ClockPlan, LongStretchedSlewGivesAValidAppliedRecord) {
    auto a = adjust();
    a.frequency = 100;
    a.slew = 892;
    auto p = plan(a);
    EXPECT_NEAR(*p.applied.slew_duration, 892 / 400e-6, 1e-3);
    auto back = from_record<Applied>(to_record(p.applied));
    ASSERT_TRUE(back) << back.error().what;
    EXPECT_EQ(*back, p.applied);
    a.frequency = 499.998;  // near the slowest slew clockadj runs (1000 s at 1e-3 ppm)
    a.slew = 1000;
    p = plan(a);
    EXPECT_TRUE(from_record<Applied>(to_record(p.applied)));
}

TEST(ClockPlan, FrequencyOrSlewEndsTheSlewInProgressAnEmptyRecordLetsItRun) {
    auto a = adjust();
    a.frequency = 0;
    a.slew = 0.01;
    a.slew_duration = 100;  // 100 ppm
    auto st = plan(a).next;
    // 50 s later, half done: a record with nothing to change lets it run on
    auto p = plan(adjust(), st, {}, kNoon, kMono + 50 * kNanosPerSecond);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(100));
    EXPECT_EQ(p.next.slew_end, st.slew_end);
    EXPECT_FALSE(p.applied.slew);
    // a new frequency ends it: the discipline's estimate already holds the rest (time-stream(5))
    auto b = adjust();
    b.frequency = 5;
    p = plan(b, st, {}, kNoon, kMono + 50 * kNanosPerSecond);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(5));
    EXPECT_FALSE(p.next.slewing());
    // a new slew replaces it
    b.slew = -0.002;
    b.slew_duration = 20;
    p = plan(b, st, {}, kNoon, kMono + 50 * kNanosPerSecond);
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(5 - 100));
    EXPECT_EQ(p.next.slew_end, kMono + 70 * kNanosPerSecond);
    b.slew = 0.0;
    b.slew_duration.reset();
    p = plan(b, st, {}, kNoon, kMono + 50 * kNanosPerSecond);
    EXPECT_FALSE(p.next.slewing());
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(5));
}

TEST(ClockPlan, StepCancelsSlewAndKeepsBase) {
    auto a = adjust();
    a.frequency = 3;
    a.slew = 0.01;
    auto st = plan(a).next;
    auto b = adjust();
    b.step = 1;
    b.reason = "r";
    auto p = plan(b, st);
    EXPECT_FALSE(p.next.slewing());
    EXPECT_EQ(p.rate.freq_scaled, ppm_to_scaled(3));
    EXPECT_EQ(p.notes.size(), 1u);
}

TEST(ClockPlan, LeapArmedOnlyOnItsDayAndDisarmedAfter) {
    auto a = adjust();
    a.leap = 1;
    auto p = plan(a);
    EXPECT_EQ(p.leap, LeapArm::insert);
    EXPECT_EQ(p.applied.leap, 1);
    EXPECT_EQ(p.next.leap_disarm_at, 20'001 * kDay + kNanosPerSecond);
    a.leap = 2;
    EXPECT_EQ(plan(a).leap, LeapArm::del);

    a.leap = 1;  // the clock is on the next day: not armed
    p = plan(a, {}, {}, kNoon + kDay);
    EXPECT_EQ(p.leap, LeapArm::none);
    EXPECT_EQ(p.applied.leap, 0);
    EXPECT_EQ(p.notes.size(), 1u);

    PlanOptions ptp;
    ptp.leap_supported = false;
    ptp.clock_name = "/dev/ptp0";
    p = plan(a, {}, ptp);
    EXPECT_EQ(p.leap, LeapArm::none);
    EXPECT_EQ(p.applied.source, "/dev/ptp0");

    auto st = plan(a).next;  // armed; a record without a leap disarms
    auto b = adjust();
    b.frequency = 1;
    p = plan(b, st);
    EXPECT_EQ(p.leap, LeapArm::none);
    EXPECT_EQ(p.applied.leap, 0);
    auto d = disarm_leap(st, {}, st.leap_disarm_at);
    EXPECT_EQ(d.leap, LeapArm::none);
    EXPECT_EQ(d.applied.leap, 0);
    EXPECT_EQ(d.next.leap_disarm_at, 0);
}

TEST(ClockPlan, NoLeapKeyAndNothingArmedSaysNoLeap) {
    auto a = adjust();
    a.frequency = 1;
    auto p = plan(a);
    EXPECT_FALSE(p.applied.leap);
    EXPECT_EQ(p.leap, LeapArm::none);
}

TEST(ClockPlan, AppliedRecordNamesTheClockTimeAndDryRun) {
    auto a = adjust();
    a.frequency = 1;
    PlanOptions opt;
    opt.dry_run = true;
    auto p = plan(a, {}, opt, kNoon + 7);
    EXPECT_EQ(p.applied.source, "CLOCK_REALTIME");
    EXPECT_EQ(p.applied.time, kNoon + 7);
    EXPECT_TRUE(p.applied.dry_run);
    EXPECT_TRUE(from_record<Applied>(to_record(p.applied)));
}

TEST(ClockPlan, UtcDayFloorsNegativeTimes) {
    EXPECT_EQ(utc_day(0), 0);
    EXPECT_EQ(utc_day(kDay - 1), 0);
    EXPECT_EQ(utc_day(-1), -1);
    EXPECT_EQ(utc_day(-kDay), -1);
}

}  // namespace
