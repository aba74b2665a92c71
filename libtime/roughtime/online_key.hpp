// When a Roughtime server's online key is valid and when it is replaced, pure: served time in,
// decisions out. The long-term key signs each online key for a window [MINT, MAXT]
// (make_delegation, RFC 10049 §5.2.5); a response is valid only if MINT <= MIDP <= MAXT.
//
//   RotationSchedule sched(24 * 3600 * kNanosPerSecond);
//   OnlineKeyWindow w = sched.window_at(served_now);   // [now - backdate, now + validity]
//   ... before each batch:
//   if (!sched.usable(w, served_now)) { w = sched.window_at(served_now); /* new key + DELE */ }
//   timer in sched.renew_at(w) - served_now
//
// A key is replaced `lead` before MAXT — a quarter of the validity, at most an hour — so the
// new one is signed and in place while the old one is still good. Its window starts `backdate`
// (the same quarter, at most an hour) before the moment it is made, so a served time that steps
// back a little (a new upstream offset) still lies inside it. If served time leaves
// [MINT, renew_at) anyway (a step larger than that), the key is not usable and is replaced
// before the next batch. With the default 24 h: windows of 25 h, replaced every 23 h.
#pragma once

#include <cstdint>

#include "libtime/base/unix_time.hpp"

namespace timepipe::roughtime {

struct OnlineKeyWindow {
    UnixNanos mint = 0;
    UnixNanos maxt = 0;
    friend bool operator==(const OnlineKeyWindow&, const OnlineKeyWindow&) = default;
};

class RotationSchedule {
public:
    static constexpr std::int64_t kMaxLead = 3600 * kNanosPerSecond;
    static constexpr std::int64_t kMinValidity = kNanosPerSecond;

    // validity_ns: how long after it is made a key may sign (MAXT - now); at least kMinValidity.
    explicit RotationSchedule(std::int64_t validity_ns);

    std::int64_t validity_ns() const { return validity_; }
    std::int64_t lead_ns() const;      // replaced this long before MAXT
    std::int64_t backdate_ns() const;  // MINT this long before it is made

    OnlineKeyWindow window_at(UnixNanos served_now) const;
    UnixNanos renew_at(const OnlineKeyWindow& w) const { return w.maxt - lead_ns(); }
    // MINT <= served_now < renew_at: answer with this key.
    bool usable(const OnlineKeyWindow& w, UnixNanos served_now) const {
        return served_now >= w.mint && served_now < renew_at(w);
    }

private:
    std::int64_t validity_;
};

}  // namespace timepipe::roughtime
