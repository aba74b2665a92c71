#include "libtime/ntp/poll.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

namespace {

constexpr double kPollGate = 4.0;  // PGATE, RFC 5905 A.5.5.6

int clamp_exponent(int e) { return std::clamp(e, kPollExponentMin, kPollExponentMax); }

}  // namespace

std::string_view check(const PollConfig& c) {
    if (c.minpoll < kPollExponentMin || c.minpoll > kPollExponentMax)
        return "minpoll must be between -6 and 17";
    if (c.maxpoll < c.minpoll || c.maxpoll > kPollExponentMax)
        return "maxpoll must be between minpoll and 17";
    if (c.iburst && c.burst_count < 1) return "burst count must be at least 1";
    if (c.iburst && c.burst_spacing <= 0) return "burst spacing must be positive";
    if (c.unreachable_after < 1) return "unreachable-after must be at least 1";
    if (c.increase_after < 1 || c.decrease_after < 1) return "poll hysteresis must be at least 1";
    if (!(c.jitter_fraction >= 0.0 && c.jitter_fraction <= 1.0))
        return "poll jitter fraction must be between 0 and 1";
    return {};
}

bool within_poll_gate(double offset, double jitter) {
    return std::fabs(offset) <= kPollGate * jitter;
}

PollState::PollState(const PollConfig& config, MonoNanos start, RandomBits random)
    : config_(config), random_(std::move(random)), next_(start) {
    config_.minpoll = clamp_exponent(config_.minpoll);
    config_.maxpoll = std::clamp(config_.maxpoll, config_.minpoll, kPollExponentMax);
    config_.burst_count = std::max(config_.burst_count, 1);
    config_.unreachable_after = std::max(config_.unreachable_after, 1);
    poll_ = floor_ = config_.minpoll;
    burst_left_ = config_.iburst ? config_.burst_count : 0;
}

std::optional<MonoNanos> PollState::next_poll_at() const {
    if (status_ == PollStatus::Demobilised) return std::nullopt;
    return next_;
}

std::string_view PollState::kiss_code() const {
    const auto end = std::find(kiss_.begin(), kiss_.end(), '\0');
    return {kiss_.data(), static_cast<std::size_t>(end - kiss_.begin())};
}

MonoNanos PollState::interval() const {
    const MonoNanos base = poll_ >= 0 ? kNanosPerSecond << poll_ : kNanosPerSecond >> -poll_;
    if (!random_ || config_.jitter_fraction <= 0.0) return base;
    // Only ever stretch: never poll a server faster than 2^poll (ntpd's poll_update does the same).
    const double u = static_cast<double>(random_()) / 4294967296.0;
    return base + static_cast<MonoNanos>(static_cast<double>(base) * config_.jitter_fraction * u);
}

void PollState::on_sent(MonoNanos now) {
    if (status_ == PollStatus::Demobilised) return;
    if (outstanding_) lost();
    // RFC 5905 §13: the reach register shifts left on every poll; a reply sets bit 0 again.
    reach_ = static_cast<std::uint8_t>(reach_ << 1);
    outstanding_ = true;
    if (burst_left_ > 0) --burst_left_;
    next_ = now + (burst_left_ > 0 ? config_.burst_spacing : interval());
}

bool PollState::on_reply(MonoNanos /*now*/, bool consistent) {
    if (!outstanding_ || status_ == PollStatus::Demobilised) return false;
    outstanding_ = false;
    reach_ |= 1;
    misses_ = 0;
    status_ = PollStatus::Active;
    // Samples from a burst are for filling the clock filter, not for judging the interval.
    if (burst_left_ == 0) adjust(consistent ? 1 : -2);
    return true;
}

void PollState::on_timeout(MonoNanos /*now*/) {
    if (!outstanding_ || status_ == PollStatus::Demobilised) return;
    lost();
}

void PollState::lost() {
    outstanding_ = false;
    ++misses_;
    if (status_ == PollStatus::Active && misses_ >= config_.unreachable_after) {
        // RFC 5905 §13: an unreachable server gets a fresh burst (if iburst) so that it is
        // usable at once when it comes back.
        status_ = PollStatus::Unreachable;
        score_ = 0;
        if (config_.iburst) burst_left_ = config_.burst_count;
    } else if (status_ == PollStatus::Unreachable) {
        // Back off towards maxpoll: do not hammer a dead server (ntpd does the same).
        if (burst_left_ == 0) set_poll(poll_ + 1);
    } else if (burst_left_ == 0) {
        // Losses while reachable: poll faster so the filter still gets fresh samples.
        adjust(-2);
    }
}

void PollState::adjust(int delta) {
    score_ += delta;
    if (score_ >= config_.increase_after) {
        set_poll(poll_ + 1);
        score_ = 0;
    } else if (score_ <= -config_.decrease_after) {
        set_poll(poll_ - 1);
        score_ = 0;
    }
}

void PollState::set_poll(int exponent) {
    // The floor may exceed maxpoll when a server's RATE kiss asked for more (RFC 5905 §7.4).
    poll_ = std::clamp(exponent, floor_, std::max(config_.maxpoll, floor_));
}

void PollState::on_kod(std::string_view code, MonoNanos now, int server_poll) {
    if (status_ == PollStatus::Demobilised) return;
    code = code.substr(0, 4);
    if (code == "DENY" || code == "RSTR") {
        // RFC 5905 §7.4: the server refuses us; demobilise and never poll it again.
        status_ = PollStatus::Demobilised;
        outstanding_ = false;
        burst_left_ = 0;
        std::copy(code.begin(), code.end(), kiss_.begin());
        return;
    }
    if (code != "RATE") return;  // unknown codes carry no protocol meaning (§7.4)
    // RFC 5905 §7.4: RATE means slow down. Double the interval, never below what the server
    // advertised, and keep that floor for the rest of this association.
    outstanding_ = false;
    burst_left_ = 0;
    score_ = 0;
    floor_ = std::max(floor_, clamp_exponent(server_poll));
    set_poll(std::min(poll_ + 1, config_.maxpoll));
    next_ = now + interval();
}

}  // namespace timepipe::ntp
