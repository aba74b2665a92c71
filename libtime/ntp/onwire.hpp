// RFC 5905 on-wire calculation (§8 and Appendix A.5.1) for one client/server exchange:
//   T1 origin (client sent)  T2 receive (server got)  T3 transmit (server sent)  T4 destination
//   offset     θ = ((T2 − T1) + (T3 − T4)) / 2
//   delay      δ = (T4 − T1) − (T3 − T2), never below the local precision 2^ρ
//   dispersion ε = 2^ρ(local) + 2^ρ(server) + PHI·(T4 − T1), PHI = 15 ppm
//
//   ntp::Exchange x{req.transmit_sent, resp.receive, resp.transmit, arrival};
//   ntp::Sample s = ntp::on_wire(x, local_precision, resp.precision);
//   double lambda = ntp::root_distance(s, resp.root_delay, resp.root_dispersion);
//
// Differences are taken modulo 2^64 in 32.32 fixed point, so an era boundary (2036) between
// T1 and T4 is harmless; each difference must be under 2^31 s in magnitude.
#pragma once

#include <cstdint>

#include "libtime/ntp/constants.hpp"
#include "libtime/ntp/timestamp.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

struct Exchange {
    NtpTimestamp t1, t2, t3, t4;
};

struct Sample {
    double offset = 0;      // θ, s: add to the local clock to agree with the server
    double delay = 0;       // δ, s
    double dispersion = 0;  // ε, s
    std::int64_t offset_ns = 0;      // the same, rounded to the nearest ns from exact fixed point
    std::int64_t delay_ns = 0;
    std::int64_t dispersion_ns = 0;
};

Sample on_wire(const Exchange& x, std::int8_t local_precision, std::int8_t server_precision);

// Same, from UnixNanos (e.g. kernel timestamps). Exact in ns; no era question arises.
Sample on_wire(UnixNanos t1, UnixNanos t2, UnixNanos t3, UnixNanos t4, std::int8_t local_precision,
               std::int8_t server_precision);

// Root synchronisation distance λ (RFC 5905 Appendix A.5.5.2 root_dist()):
//   max(MINDISP, root_delay + δ) / 2 + root_dispersion + ε + PHI·age + jitter
// computed by ntp::root_distance(SelectCandidate) (libtime/ntp/select.hpp), MINDISP 0.005 s.
// `age` is the time since the sample was taken, in s.
double root_distance(const Sample& s, NtpShort root_delay, NtpShort root_dispersion, double jitter = 0,
                     double age = 0);

// Interleaved client/server mode (RFC 9769). A server that can only learn its real transmit
// time after the packet left sends it in its NEXT response. The client therefore evaluates the
// PREVIOUS exchange, with its server transmit time taken from the CURRENT response:
//   T1 = when our previous request left (our own, ideally a kernel/hardware TX timestamp)
//   T2 = Receive Timestamp of the previous response
//   T3 = Transmit Timestamp of the current response (the previous response's true send time)
//   T4 = when the previous response arrived here
// An interleaved request carries the previous response's Receive Timestamp in its Origin field
// and a fresh random cookie in its Receive field. The server answers interleaved only if it
// still has that transmit time; it then echoes our Receive field in its Origin field. So the
// caller checks response.origin == request.receive (interleaved: use this function) or
// response.origin == request.transmit (basic: evaluate the current exchange as usual).
constexpr Exchange interleaved_exchange(NtpTimestamp prev_request_sent, NtpTimestamp prev_response_receive,
                                        NtpTimestamp cur_response_transmit, NtpTimestamp prev_response_arrived) {
    return {prev_request_sent, prev_response_receive, cur_response_transmit, prev_response_arrived};
}

}  // namespace timepipe::ntp
