// The NTP load generator behind ntp-loadgen: NTPv4 client requests against one server, spread
// over `sockets` UDP sockets (so a server that shares its port with SO_REUSEPORT spreads the
// load), closed or open loop as bench/loadcore/engine.hpp runs them.
//
//   Config cfg;  cfg.server = addr;  cfg.concurrency = 64;  cfg.duration_ns = 5 * kNanosPerSecond;
//   auto stats = run_load(cfg, stop_flag);     // Result<Stats>: only setup errors fail
//
// Each request carries a unique transmit timestamp: the current time with its low 20 bits of
// fraction (244 µs) replaced by the slot number (12 bits) and a per-slot generation (8 bits),
// much as chrony randomises the bits below its precision. A reply is valid when it parses, is
// mode 4 and its origin timestamp is the transmit timestamp of a request still outstanding on
// that socket. A request unanswered after `timeout_ns` counts as lost (closed loop: and is sent
// again with a new timestamp); its reply, should it come later, counts as late.
//
// NTS (RFC 8915): with `nts` set, each request also carries a Unique Identifier (slot, generation
// and a per-run random part), one cookie and the authenticator sealed with the C2S key, and asks
// for no extra cookie: a client's steady state, spending one cookie and getting one back. A reply
// is valid only when it authenticates with S2C and echoes the UID; its new cookie is the slot's
// next. The slots start from the key exchange's cookies, round robin.
//
// Transmit-timestamp lag: the sockets ask for kernel receive timestamps, and for every valid
// (non-KoD) reply with one, tx_lag = kernel receive time of the reply − the reply's transmit
// timestamp (T3). On loopback client and server share one clock and the reply is stamped on
// arrival as the server's send call hands it over, so tx_lag is how long after T3 the reply
// actually left the server: about a µs for a server that stamps each reply just before sending
// it, growing along the batch for one that stamps a whole batch and then sends it at once.
#pragma once

#include <csignal>
#include <cstdint>
#include <optional>
#include <vector>

#include "bench/loadcore/engine.hpp"
#include "libtime/base/error.hpp"
#include "libtime/base/socket_address.hpp"
#include "libtime/nts/cookie.hpp"
#include "libtime/nts/ntp_fields.hpp"

namespace timepipe::bench {

inline constexpr unsigned kMaxSpreadSockets = 254;  // 127.0.0.1 .. 127.0.0.254

// What an NTS key exchange gave the load generator (nts_key_exchange, before the load).
struct NtsSetup {
    nts::SessionKeys keys;
    std::vector<nts::Cookie> cookies;  // at least one
};

struct Config : LoadShape {
    SocketAddress server;
    unsigned sockets = 4;
    // Bind socket i to 127.0.0.(i+1), so an IPv4 loopback server sees `sockets` clients, not one.
    bool spread_sources = false;
    std::optional<NtsSetup> nts;
};

struct Stats : LoadCounters {
    std::uint64_t kod = 0;  // kiss-o'-death with a matching origin (completes an exchange)
    // Kernel receive time of the reply − its transmit timestamp T3, ns, valid replies that
    // carried a kernel receive timestamp. Negative lags are counted, then recorded as 0.
    LatencyHistogram tx_lag;
    std::uint64_t tx_lag_negative = 0;
    std::uint64_t nts_nak = 0;      // NTS: an NTS NAK with our UID (completes the exchange, not valid)
    std::uint64_t nts_invalid = 0;  // NTS: a reply to a request in flight that did not authenticate
};

// Runs until the duration passes, `requests` exchanges (valid + KoD) complete, or `stop`
// becomes nonzero. Fails only when the sockets cannot be set up.
Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop);

}  // namespace timepipe::bench
