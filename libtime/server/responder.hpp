// The NTP server's protocol decisions (RFC 5905 §8/§9.2, RFC 7822, RFC 8633, RFC 9769), with no
// I/O: request bytes, the receive time, the client's address and the server's state in;
// response bytes or the reason for silence out. tools/ntp-serve does the sockets.
//
//   ntp::Responder r({.deny_kod = true, .interleaved = true}, &limiter, &table, counters);
//   r.set_policy(std::make_shared<const ntp::AccessPolicy>(*policy));
//   // per datagram (no allocation, never throws):
//   std::array<std::byte, ntp::kHeaderSize> out;
//   ntp::Outcome o = r.handle(rx.data(), rx.peer.bytes(), rx.rx_time, clock.now(),
//                             monotonic_now(), state, out);
//   if (o.length != 0) send(std::span(out).first(o.length));
//
// The steps handle() takes, each also callable alone:
//   1. accept_request(): a client request (mode 3, or NTPv1 mode 0) of version 1-4 that
//      parses; mode 6/7, other modes and malformed packets are dropped with their reason;
//   2. the access policy: --deny'd clients get KoD DENY (deny_kod) or silence, --restrict'ed
//      ones KoD RSTR; KoD DENY/RSTR are themselves rate-limited (a spoofed flood earns the
//      victim no more than normal answers would);
//   3. the rate limiter: pass, KoD RATE, or silence;
//   4. write_response() / write_kiss(): always exactly 48 octets — extension fields and MACs
//      are never echoed — so a response is never larger than its request (which parses, so
//      has at least 48 octets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "libtime/server/acl.hpp"
#include "libtime/base/error.hpp"
#include "libtime/base/expected.hpp"
#include "libtime/server/interleave.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/server/rate_limit.hpp"
#include "libtime/server/counters.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe::ntp {

// The poll field of a response is the request's, clamped to this range (log2 s).
inline constexpr std::int8_t kMinServedPoll = -6;
inline constexpr std::int8_t kMaxServedPoll = 17;

// Reference identifiers of a server that serves its own clock (--stratum N): "LOCL" at
// stratum 1, 127.127.1.1 (as chronyd's `local stratum N` sends) at stratum 2-15.
inline constexpr std::uint32_t kRefidLocl = 0x4C4F434C;
inline constexpr std::uint32_t kRefidLocal = 0x7F7F0101;

// What the server says about itself in every response.
struct ServerState {
    Leap leap = Leap::Unsynchronized;
    std::uint8_t stratum = 0;  // as sent: 0 when unsynchronised (RFC 5905 §7.3, chrony alike)
    std::int8_t precision = -20;
    NtpShort root_delay;
    NtpShort root_dispersion;
    std::uint32_t refid = 0;
    NtpTimestamp reference;          // when the served time was last set or corrected
    std::int64_t correction_ns = 0;  // added to local clock readings before they are sent
    friend bool operator==(const ServerState&, const ServerState&) = default;
};

// Unsynchronised: leap 3, stratum 0, refid 0, no reference time — what chronyd 4.3 sends.
ServerState unsynchronised_state(std::int8_t precision);
// The local clock at `stratum` (1-15): leap 0, root delay and dispersion 0, reference `now`.
ServerState local_clock_state(std::uint8_t stratum, std::int8_t precision, UnixNanos now);

enum class Drop : std::uint8_t {
    Malformed,    // shorter than 48 octets, bad version, bad extension fields or MAC
    ControlMode,  // mode 6 (ntpq): never answered
    PrivateMode,  // mode 7 (ntpdc, monlist): never answered
    WrongMode,    // not a client request (modes 0-2, 4, 5)
    Denied,       // --deny, and no KoD (deny_kod off, or the KoD itself was rate-limited)
    RateLimited,  // over the rate limit and not picked for a KoD RATE
};
std::string_view to_string(Drop d);  // "malformed", "mode 6", ...
Counter counter_for(Drop d);

// Step 1. The request's header, or why it gets no answer.
Expected<Header, Drop> accept_request(std::span<const std::byte> packet) noexcept;

enum class Reply : std::uint8_t { Basic, Interleaved, KissRate, KissDeny, KissRstr, KissNtsn /* an NTS NAK */ };
std::string_view to_string(Reply r);

struct ReplyTimes {
    NtpTimestamp origin;
    NtpTimestamp receive;
    NtpTimestamp transmit;
};

// Mode 4, the request's version, poll clamped, the state's leap/stratum/precision/root
// values/refid/reference, then `t`. Writes exactly kHeaderSize octets.
void write_response(const Header& request, const ServerState& state, const ReplyTimes& t,
                    std::span<std::byte, kHeaderSize> out) noexcept;

// RFC 5905 §7.4: leap 3, stratum 0, the kiss code as refid, mode 4, the request's version;
// origin, receive and transmit all echo the request's transmit timestamp, so a refused client
// learns nothing of our time. `poll` is the poll the client should use at least.
void write_kiss(const Header& request, Kiss code, std::int8_t poll, std::span<std::byte, kHeaderSize> out) noexcept;

struct ResponderConfig {
    bool deny_kod = true;    // --deny'd clients get KoD DENY (else silence)
    bool interleaved = false;
    std::int8_t kod_poll = 3;  // the poll sent in KoD RATE: log2 of the limiter's interval
};

struct Outcome {
    std::size_t length = 0;          // octets of `out` to send; 0: send nothing
    std::optional<Reply> reply;      // set when length != 0
    std::optional<Drop> drop;        // set when length == 0
    NtpTimestamp receive;            // the receive timestamp sent (for update_transmit)
    // Interleaved mode: the kernel's transmit time of this response is wanted (pass it to the
    // table's update_transmit(client, receive, …)). Set for a response in interleaved mode
    // and for the first response to a client the table does not know (RFC 9769 clients start
    // in basic mode: their next request can then be answered in interleaved mode at once).
    // A known client that asks in basic mode (most clients, every time) is not stamped.
    bool tx_timestamp = false;
    InterleaveTable::Client client;  // the table's handle for the client (interleaved mode)
};

// Steps 1-4 with counters. Holds no per-request state except in the rate limiter and the
// interleave table it is given (either may be null: no limit / basic mode only).
class Responder {
public:
    Responder(const ResponderConfig& config, RateLimiter* limiter, InterleaveTable* table,
              ServerCounters& counters)
        : config_(config), limiter_(limiter), table_(table), counters_(&counters),
          policy_(std::make_shared<const AccessPolicy>()) {}

    void set_policy(std::shared_ptr<const AccessPolicy> policy) { policy_ = std::move(policy); }
    const ResponderConfig& config() const { return config_; }

    // `client`: the peer's raw 4/16 address bytes. `rx_time`: when the request arrived
    // (kernel stamp); `tx_time`: a clock read just now, for the basic transmit timestamp;
    // `mono_ns`: a monotonic time for the rate limiter. `out` must hold kHeaderSize octets
    // (less: nothing is sent). Counts `received` and the outcome.
    Outcome handle(std::span<const std::byte> request, std::span<const std::byte> client, UnixNanos rx_time,
                   UnixNanos tx_time, std::int64_t mono_ns, const ServerState& state,
                   std::span<std::byte> out) noexcept;

    // handle() in two parts, for a server with work between them (ntp-serve checks the NTS
    // requests of a whole batch once their clients are admitted, before any reply is stamped):
    // admit() takes steps 1-3 and counts `received`: an admitted request's header, or the
    // outcome that refuses it (a kiss written to `out`, or silence); answer() takes step 4.
    Expected<Header, Outcome> admit(std::span<const std::byte> request, std::span<const std::byte> client,
                                    std::int64_t mono_ns, std::span<std::byte> out) noexcept;
    Outcome answer(const Header& request, std::span<const std::byte> client, UnixNanos rx_time, UnixNanos tx_time,
                   const ServerState& state, std::span<std::byte> out) noexcept;

private:
    // A KoD DENY/RSTR if the limiter lets one through, else a silent drop as Denied.
    Outcome refuse(const Header& req, Kiss code, std::span<const std::byte> client, std::int64_t mono_ns,
                   std::span<std::byte, kHeaderSize> out) noexcept;

    ResponderConfig config_;
    RateLimiter* limiter_;
    InterleaveTable* table_;
    ServerCounters* counters_;
    std::shared_ptr<const AccessPolicy> policy_;
};

}  // namespace timepipe::ntp
