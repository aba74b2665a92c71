#include "libtime/ntp/association.hpp"

namespace timepipe::ntp {

double take_sample(ClockFilter& filter, PollState* poll, const NtpSample& sample, MonoNanos now) {
    const auto before = filter.estimate();
    filter.add(sample);
    const double jitter = filter.estimate() ? filter.estimate()->jitter : 0.0;
    const double change = sample.offset - (before ? before->offset : sample.offset);
    if (poll) poll->on_reply(now, within_poll_gate(change, jitter));
    return jitter;
}

std::string_view kiss_meaning(Kiss k) {
    switch (k) {
    case Kiss::Deny: return "server refuses service";
    case Kiss::Rstr: return "server restricts access";
    case Kiss::Rate: return "server asks to slow down";
    case Kiss::Ntsn: return "NTS cookie refused";
    case Kiss::Other: break;
    }
    return "unknown code";
}

ReachChange reach_change(PollStatus before, PollStatus now) {
    if (now == PollStatus::Unreachable)
        return before == PollStatus::Unreachable ? ReachChange::StillLost : ReachChange::Lost;
    if (before == PollStatus::Unreachable && now == PollStatus::Active) return ReachChange::Regained;
    return ReachChange::None;
}

}  // namespace timepipe::ntp
