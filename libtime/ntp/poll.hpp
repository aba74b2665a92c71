// Per-source poll management for an NTP client (RFC 5905 §13, as ntpd and chrony do it).
// Pure: no clock reads, no timers. The caller owns the socket and the event loop:
//
//   PollState poll(PollConfig{.minpoll = -2, .iburst = true}, mono_now, rng);
//   while (auto at = poll.next_poll_at()) {
//       sleep_until(*at); send_request(); poll.on_sent(now());
//       // then exactly one of:
//       poll.on_reply(now(), within_poll_gate(offset, jitter));   // valid reply
//       poll.on_kod("RATE", now(), packet_poll);                  // kiss-o'-death
//       poll.on_timeout(now());                                   // gave up waiting
//   }
//   // next_poll_at() is empty once the source is Demobilised (DENY/RSTR): stop using it.
//
// All times are monotonic nanoseconds (CLOCK_MONOTONIC), not wall-clock time.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

namespace timepipe::ntp {

using MonoNanos = std::int64_t;

// RFC 5905 §7.2 bounds MAXPOLL at 17 (36 h); we let minpoll go down to -6 (15.6 ms) like
// chrony, so tests can poll fast.
inline constexpr int kPollExponentMin = -6;
inline constexpr int kPollExponentMax = 17;

struct PollConfig {
    int minpoll = 6;   // log2 seconds (RFC 5905 §7.2 MINPOLL default 6 = 64 s)
    int maxpoll = 10;  // 1024 s
    // RFC 5905 §13: a burst of BCOUNT = 8 packets 2 s apart on start and whenever the source is
    // unreachable, so the clock filter fills quickly.
    bool iburst = false;
    int burst_count = 8;
    MonoNanos burst_spacing = 2'000'000'000;
    // Consecutive polls without a reply before the source counts as unreachable (8 = the
    // width of the reach register, RFC 5905 §13).
    int unreachable_after = 8;
    // Poll adjustment (a simplification of the jiggle counter, RFC 5905 A.5.5.7, that counts
    // replies rather than weighting them by the poll exponent, which may be negative here):
    // each consistent reply scores +1, each noisy reply or lost packet -2; reaching
    // +increase_after raises the poll exponent, reaching -decrease_after lowers it.
    int increase_after = 4;
    int decrease_after = 4;
    // Poll intervals (not burst spacing) are stretched by up to this fraction at random so
    // clients started together do not stay in lock-step (ntpd uses 1/16).
    double jitter_fraction = 1.0 / 16;
};

// "" when the configuration is usable, otherwise why not (for a tool's usage error).
std::string_view check(const PollConfig& config);

// RFC 5905 A.5.5.6: an offset within PGATE (4) times the jitter is consistent with the
// samples before it, so the poll interval may grow.
bool within_poll_gate(double offset, double jitter);

enum class PollStatus {
    Active,       // polling; reachable or not yet known
    Unreachable,  // unreachable_after polls in a row went unanswered; still polled, slowly
    Demobilised,  // the server sent DENY or RSTR: never poll it again (RFC 5905 §7.4)
};

class PollState {
public:
    // Uniformly distributed 32-bit values; empty means no random stretch.
    using RandomBits = std::function<std::uint32_t()>;

    // `config` must pass check(); out-of-range exponents are clamped. The first poll is due
    // at `start`.
    PollState(const PollConfig& config, MonoNanos start, RandomBits random = {});

    // When the next request should go out; empty once Demobilised.
    std::optional<MonoNanos> next_poll_at() const;

    // A request went out: shift the reach register (RFC 5905 §13) and schedule the next one.
    // A previous request still unanswered counts as lost.
    void on_sent(MonoNanos now);
    // A valid reply to the outstanding request: set reach bit 0. `consistent` feeds the poll
    // adjustment (see within_poll_gate); a changed exponent applies from the next request.
    // Returns false, changing nothing, if no request was outstanding (duplicate or late reply).
    bool on_reply(MonoNanos now, bool consistent = true);
    // The outstanding request will not be answered.
    void on_timeout(MonoNanos now);
    // A kiss-o'-death reply (RFC 5905 §7.4) with its 4-character code and the server's poll
    // field. RATE: double the interval, at least the server's poll; DENY, RSTR: Demobilised;
    // any other code: ignored except that it is no valid reply.
    void on_kod(std::string_view code, MonoNanos now, int server_poll);

    std::uint8_t reach() const { return reach_; }
    int poll_exponent() const { return poll_; }
    PollStatus status() const { return status_; }
    bool in_burst() const { return burst_left_ > 0; }
    int consecutive_misses() const { return misses_; }
    // The kiss code that demobilised the source ("" otherwise).
    std::string_view kiss_code() const;

private:
    void lost();
    void adjust(int delta);
    void set_poll(int exponent);
    MonoNanos interval() const;

    PollConfig config_;
    RandomBits random_;
    MonoNanos next_;
    int poll_;
    int floor_;  // lowest poll exponent allowed now: minpoll, or the server's after RATE
    int score_ = 0;
    int burst_left_ = 0;
    int misses_ = 0;
    std::uint8_t reach_ = 0;
    bool outstanding_ = false;
    PollStatus status_ = PollStatus::Active;
    std::array<char, 4> kiss_{};
};

}  // namespace timepipe::ntp
