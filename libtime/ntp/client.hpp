// The NTP client side of one association (RFC 5905 §8-9, RFC 9769 §2): build a request, check a
// reply against the request still outstanding, compute the sample. Pure: the caller owns the
// socket, the clock and the timers, and hands in the times it measured.
//
//   ntp::Client c({.interleaved = true, .local_precision = clock.precision_log2()}, random64);
//   ntp::Header req = c.next_request();                // serialize + send it
//   c.on_sent(clock_read_before_send);                  // T1 (a kernel TX stamp may refine it:
//   c.refine_transmit_time(kernel_tx_time);             //  call as soon as it is known)
//   auto m = c.on_reply(datagram, kernel_rx_time);      // T4
//   if (m) use(m->sample.offset, m->interleaved);
//   else if (m.error().reason == ntp::Reject::KissOfDeath) poll.on_kod(...);
//   else if (m.error().reason == ntp::Reject::Unsynchronised) show(m.error().measured);
//   else if (!ends_exchange(m.error().reason)) keep_waiting();   // spoofed or stray packet
//   c.on_timeout();                                     // gave up on the outstanding request
//
// Requests follow the NTP client data minimisation draft (draft-ietf-ntp-data-minimization):
// every header field is zero except LI/VN/mode and a random 64-bit transmit timestamp, which
// is no clock reading, so a request reveals nothing about this host's clock. An interleaved
// request (RFC 9769 §2) also carries the previous response's Receive Timestamp in its origin
// field and a fresh random cookie in its receive field; a server answering interleaved echoes
// the cookie as its origin, one answering in basic mode echoes our transmit.
//
// Stratum 0 is a kiss-o'-death only with a code that acts as one (RATE, DENY, RSTR: see
// acts_as_kiss in libtime/ntp/packet.hpp), as chronyd does; with any other code or none it is
// an unsynchronised server (ntpd, chronyd and ntp-serve answer so before they have the time).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/base/expected.hpp"
#include "libtime/ntp/constants.hpp"
#include "libtime/ntp/onwire.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

struct ClientConfig {
    std::uint8_t version = 4;          // 1-4, the VN of our requests
    bool interleaved = false;          // try RFC 9769 interleaved client/server mode
    std::int8_t local_precision = -20; // log2 s of our clock reading
    double max_root_distance = kMaxDistance;  // MAXDIST; farther servers are refused
    // Basic replies in a row to interleaved requests before we stop asking (the server does
    // not keep timestamps for us): RFC 9769 allows a server to answer basic at any time.
    int interleaved_give_up = 4;
};

// Why a datagram was not accepted as a reply. The first four leave the exchange open (the
// datagram was not the answer, e.g. spoofed or a duplicate); the others close it.
enum class Reject : std::uint8_t {
    Malformed,       // does not parse as an NTP packet
    NoRequest,       // nothing outstanding (duplicate or late reply)
    WrongMode,       // not mode 4 (server)
    Bogus,           // origin is neither our transmit nor our interleaved cookie
    KissOfDeath,     // stratum 0 with RATE, DENY or RSTR: see Rejection::kiss and code
    BadVersion,      // a version above the one we asked with
    ZeroTransmit,    // transmit timestamp 0
    ZeroReceive,     // receive timestamp 0
    Unsynchronised,  // leap 3, stratum 0 (any other code) or >= 16: no time to give; see
                     // Rejection::measured
    NegativeDelay,   // (T4 - T1) - (T3 - T2) below zero beyond the precisions
    BadDistance,     // root distance above max_root_distance
};
std::string_view to_string(Reject r);  // "bogus origin", "server unsynchronised", ...
bool ends_exchange(Reject r);

// An accepted reply and the sample it yields.
struct Measurement {
    Header header;         // the server's reply
    Sample sample;         // θ, δ, ε of the measured exchange
    UnixNanos time = 0;    // T4 of the measured exchange (the previous one when interleaved)
    bool interleaved = false;
    double root_distance = 0;  // λ of this sample (RFC 5905 A.5.5.2), s
};

struct Rejection {
    Reject reason = Reject::Malformed;
    Kiss kiss = Kiss::Other;         // for KissOfDeath
    std::array<char, 4> code{};      // the kiss code as sent, NULs kept
    std::int8_t server_poll = 0;     // the reply's poll field (RATE: at least this)
    std::string code_string() const; // printable code, "RATE"
    // Unsynchronised only, when the reply's times were sound: what it measured, to show the
    // server's state (leap 3, stratum 0) to a user. Never a time source.
    std::optional<Measurement> measured;
};

// One accepted exchange as an interleaved reply refers to it: our T1 and T4, the server's T2.
struct InterleavedBase {
    UnixNanos t1 = 0;
    NtpTimestamp t2;
    UnixNanos t4 = 0;
};

enum class InterleavedState : std::uint8_t {
    Off,          // not asked for
    Basic,        // asked for, but no valid previous reply to refer to yet
    Interleaved,  // requests refer to the previous reply
    GaveUp,       // the server kept answering basic: plain requests from now on
};

class Client {
public:
    using Random64 = std::function<std::uint64_t()>;

    Client(const ClientConfig& config, Random64 random);

    // The next request (overwrites any outstanding one, which then counts as lost).
    Header next_request();
    // When the request left: a clock read just before sending, then maybe a kernel stamp.
    void on_sent(UnixNanos t1);
    // A better T1 for the latest request (kernel TX timestamp), even if it was answered.
    void refine_transmit_time(UnixNanos t1);
    // A datagram from the server, received at t4.
    Expected<Measurement, Rejection> on_reply(std::span<const std::byte> datagram, UnixNanos t4);
    // The outstanding request will not be answered; the next request is a basic one.
    void on_timeout();

    bool outstanding() const { return outstanding_.has_value(); }
    const std::optional<Header>& last_request() const { return last_request_; }
    InterleavedState interleaved_state() const { return state_; }

private:
    struct Sent {
        Header request;
        UnixNanos t1 = 0;
        bool interleaved = false;
    };
    std::uint64_t nonzero_random(std::uint64_t avoid_a, std::uint64_t avoid_b);
    void reset_interleaving();

    ClientConfig config_;
    Random64 random_;
    std::optional<Sent> outstanding_;
    std::optional<Header> last_request_;
    std::optional<InterleavedBase> previous_;  // the last accepted exchange
    bool previous_is_latest_ = false;          // previous_ is the latest request's exchange
    InterleavedState state_;
    int basic_in_a_row_ = 0;
};

// Validation and on-wire maths for one reply, without state: what Client::on_reply does once
// it knows which request is outstanding. `prev` is the previous exchange for an interleaved
// reply; without it an interleaved reply is Bogus.
Expected<Measurement, Rejection> check_reply(const Header& request, UnixNanos t1, const Header& reply, UnixNanos t4,
                                             const std::optional<InterleavedBase>& prev, const ClientConfig& config);

// The refid as the stream carries it (man/time-stream.5): the ASCII code without dots at
// stratum 0, 1 and >= 16 ("GPS", "LOCL", "RATE"), the dotted IPv4 address otherwise (and for a
// code that is not printable ASCII).
std::string refid_text(const Header& h);

}  // namespace timepipe::ntp
