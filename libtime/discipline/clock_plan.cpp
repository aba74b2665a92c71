#include "libtime/discipline/clock_plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sysexits.h>

namespace timepipe::discipline {

namespace {

constexpr std::int64_t kNanosPerDay = 86'400 * kNanosPerSecond;
// Below this headroom (ppm) a slew cannot run: the base frequency is at the kernel's limit.
constexpr double kMinSlewPpm = 1e-3;

std::string num(double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%g", x);
    return buf;
}

// The bound on base + slew: the tick's ±10 % for a slew with a duration on a clock with a
// tick, else ADJ_FREQUENCY's ±500 ppm (adjtime(3)'s rate for a slew without a duration).
double rate_limit(const PlanOptions& opt, bool timed) { return timed && opt.tick_hz > 0 ? kTickMaxPpm : kKernelMaxPpm; }

// Room for a slew of sign `sign` over `base`, within ±limit.
double headroom(double base, double sign, double limit) { return std::max(0.0, limit - sign * base); }

int leap_value(LeapArm l) { return l == LeapArm::insert ? 1 : l == LeapArm::del ? 2 : 0; }

Applied applied_header(const PlanOptions& opt, UnixNanos now) {
    Applied ap;
    ap.source = opt.clock_name;
    ap.time = now;
    ap.dry_run = opt.dry_run;
    return ap;
}

KernelRate total_rate(const ClockState& st, const PlanOptions& opt) { return kernel_rate(st.total_ppm(), opt.tick_hz); }

}  // namespace

std::int64_t ppm_to_scaled(double ppm) { return std::llround(ppm * static_cast<double>(kScaledPerPpm)); }

double scaled_to_ppm(std::int64_t scaled) {
    return static_cast<double>(scaled) / static_cast<double>(kScaledPerPpm);
}

std::int64_t nominal_tick(int tick_hz) { return tick_hz > 0 ? (1'000'000 + tick_hz / 2) / tick_hz : 0; }

KernelRate kernel_rate(double ppm, int tick_hz) {
    auto freq_limit = static_cast<std::int64_t>(kKernelMaxPpm) * kScaledPerPpm;
    if (tick_hz <= 0) return {std::clamp(ppm_to_scaled(ppm), -freq_limit, freq_limit), 0};
    // Each µs of tick is tick_hz µs per second: tick_hz ppm.
    ppm = std::clamp(ppm, -kTickMaxPpm, kTickMaxPpm);
    double hz = tick_hz;
    double excess = std::fabs(ppm) - kKernelMaxPpm;
    auto max_delta = static_cast<std::int64_t>(kTickMaxPpm / hz);  // 1000 µs at USER_HZ 100
    std::int64_t delta = excess > 0 ? std::min<std::int64_t>(max_delta, static_cast<std::int64_t>(std::ceil(excess / hz))) : 0;
    if (ppm < 0) delta = -delta;
    auto freq = std::clamp(ppm_to_scaled(ppm - static_cast<double>(delta) * hz), -freq_limit, freq_limit);
    return {freq, nominal_tick(tick_hz) + delta};
}

double rate_ppm(const KernelRate& r, int tick_hz) {
    double ppm = scaled_to_ppm(r.freq_scaled);
    if (tick_hz > 0 && r.tick > 0) ppm += static_cast<double>(r.tick - nominal_tick(tick_hz)) * tick_hz;
    return ppm;
}

StepSpec step_encoding(double seconds) {
    std::int64_t ns = std::llround(seconds * 1e9);
    std::int64_t sec = ns / kNanosPerSecond;
    std::int64_t nsec = ns % kNanosPerSecond;
    if (nsec < 0) {
        nsec += kNanosPerSecond;
        sec -= 1;
    }
    return {sec, nsec};
}

std::int64_t utc_day(UnixNanos t) {
    std::int64_t d = t / kNanosPerDay;
    if (t % kNanosPerDay < 0) d -= 1;
    return d;
}

double ClockState::slew_remaining(std::int64_t now) const {
    if (!slewing()) return 0;
    double left = static_cast<double>(std::max<std::int64_t>(0, slew_end - now)) / 1e9;
    return slew_rate_ppm * 1e-6 * left;
}

Result<Plan> plan_adjust(const Adjust& a, const ClockState& st, const PlanOptions& opt,
                         UnixNanos realtime_now, std::int64_t monotonic_now) {
    Plan p;
    p.next = st;
    p.applied = applied_header(opt, realtime_now);
    ClockState& n = p.next;

    if (a.step) {
        if (std::fabs(*a.step) > opt.max_step)
            return fail("adjust: \"step\": " + num(*a.step) + " s is beyond --max-step " + num(opt.max_step) + " s",
                        EX_DATAERR);
        p.step = step_encoding(*a.step);
        p.applied.step = *a.step;
    }
    if (a.frequency) n.base_ppm = *a.frequency;

    // The slew (time-stream(5)): a record with frequency, slew or step ends the one in progress
    // (its rest is dropped: the discipline's next estimate includes it) and starts its own;
    // a record with none of the three lets it run on.
    auto start_slew = [&](double amount, double rate_ppm) {
        n.slew_rate_ppm = rate_ppm;
        n.slew_end = monotonic_now + std::llround(amount / (rate_ppm * 1e-6) * 1e9);
        n.slew_total = amount;
    };
    auto stop_slew = [&] {
        n.slew_rate_ppm = 0;
        n.slew_end = 0;
        n.slew_total = 0;
    };
    if (a.slew) {
        double amount = *a.slew;
        stop_slew();
        if (amount != 0) {
            double sign = amount > 0 ? 1 : -1;
            double limit = rate_limit(opt, a.slew_duration.has_value());
            double room = headroom(n.base_ppm, sign, limit);
            double rate = a.slew_duration ? amount / *a.slew_duration * 1e6 : sign * room;
            bool stretched = !a.slew_duration || std::fabs(rate) > room;
            if (std::fabs(rate) > room) rate = sign * room;
            if (std::fabs(rate) < kMinSlewPpm)
                return fail("adjust: \"slew\": no room within ±" + num(limit) + " ppm over \"frequency\" " +
                                num(n.base_ppm) + " ppm",
                            EX_DATAERR);
            start_slew(amount, rate);
            p.applied.slew = amount;
            p.applied.slew_duration = stretched ? amount / (rate * 1e-6) : *a.slew_duration;
        } else {
            p.applied.slew = 0.0;
        }
    } else if (a.step || a.frequency) {
        if (a.step && st.slewing()) p.notes.push_back("slew: cancelled by a step");
        stop_slew();
    } else if (st.slewing()) {
        double amount = st.slew_remaining(monotonic_now);
        double sign = st.slew_rate_ppm > 0 ? 1 : -1;
        // The slew in progress kept its rate within its own bound; the base is unchanged.
        double rate = sign * std::min(std::fabs(st.slew_rate_ppm), headroom(n.base_ppm, sign, rate_limit(opt, true)));
        stop_slew();
        if (amount != 0 && std::fabs(rate) >= kMinSlewPpm) {
            start_slew(amount, rate);
            n.slew_total = st.slew_total;
        } else if (amount != 0) {
            p.notes.push_back("slew: " + num(amount) + " s left undone: no room within ±" + num(rate_limit(opt, true)) + " ppm");
        }
    }

    // The leap: armed only on its day, as the record's time and the clock agree.
    LeapArm want = LeapArm::none;
    if (a.leap && *a.leap != 0) {
        if (!opt.leap_supported) {
            p.notes.push_back("leap: " + opt.clock_name + " has no leap second, not armed");
        } else if (utc_day(a.time) != utc_day(realtime_now)) {
            p.notes.push_back("leap: the record's day is not the clock's day, not armed");
        } else {
            want = *a.leap == 1 ? LeapArm::insert : LeapArm::del;
        }
    }
    if (want != LeapArm::none) {
        n.leap = want;
        n.leap_disarm_at = (utc_day(realtime_now) + 1) * kNanosPerDay + kNanosPerSecond;
    } else {
        n.leap = LeapArm::none;
        n.leap_disarm_at = 0;
    }
    p.leap = n.leap;
    if (a.leap || st.leap != LeapArm::none) p.applied.leap = leap_value(n.leap);

    p.rate = total_rate(n, opt);
    p.applied.frequency = n.base_ppm;
    return p;
}

Plan end_slew(const ClockState& st, const PlanOptions& opt, UnixNanos realtime_now) {
    Plan p;
    p.next = st;
    p.next.slew_rate_ppm = 0;
    p.next.slew_end = 0;
    p.next.slew_total = 0;
    p.leap = st.leap;
    p.rate = total_rate(p.next, opt);
    p.applied = applied_header(opt, realtime_now);
    p.applied.frequency = p.next.base_ppm;
    return p;
}

Plan disarm_leap(const ClockState& st, const PlanOptions& opt, UnixNanos realtime_now) {
    Plan p;
    p.next = st;
    p.next.leap = LeapArm::none;
    p.next.leap_disarm_at = 0;
    p.leap = LeapArm::none;
    p.rate = total_rate(p.next, opt);
    p.applied = applied_header(opt, realtime_now);
    p.applied.frequency = p.next.base_ppm;
    p.applied.leap = 0;
    return p;
}

}  // namespace timepipe::discipline
