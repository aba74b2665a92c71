#include "tools/hwts-probe/probe.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "libtime/base/crypto.hpp"
#include "libtime/base/log.hpp"
#include "libtime/ntp/client.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"

using namespace timepipe;

namespace hwts {
namespace {

std::uint64_t random64() {
    std::uint64_t v = 0;
    crypto::random_bytes(std::as_writable_bytes(std::span(&v, 1)));
    return v;
}

// After the reply and the software TX stamp, how long a hardware stamp may still take to come
// up the error queue (a NIC reports TX stamps from its completion interrupt).
constexpr std::int64_t kHardwareGrace = 20'000'000;

}  // namespace

struct Prober::State {
    ProbeOptions options;
    UdpSocket socket;
    ntp::Client client;
    SystemClock clock;
};

Prober::Prober(std::unique_ptr<State> s) : s_(std::move(s)) {}
Prober::Prober(Prober&&) noexcept = default;
Prober& Prober::operator=(Prober&&) noexcept = default;
Prober::~Prober() = default;

bool Prober::hardware_granted() const { return s_->socket.hardware_timestamping(); }

Result<Prober> Prober::open(const ProbeOptions& options) {
    SocketOptions so{.rx_timestamps = true, .tx_timestamps = true, .pktinfo = false,
                     .hardware_timestamps = options.hardware};
    auto sock = UdpSocket::client(options.server.family(), so);
    if (!sock) return Unexpected<Error>{sock.error()};
    if (auto ok = sock->connect(options.server); !ok) return Unexpected<Error>{ok.error()};
    if (sock->rx_timestamping() != RxTimestamping::timestamping || !sock->tx_timestamping())
        return fail("SO_TIMESTAMPING: refused by the kernel", EX_OSERR);
    SystemClock clock;
    ntp::Client client({.local_precision = clock.precision_log2()}, random64);
    return Prober(std::make_unique<State>(State{options, std::move(*sock), std::move(client), clock}));
}

Result<TimestampProbe> Prober::probe(std::int64_t seq) {
    State& st = *s_;
    TimestampProbe p;
    p.source = st.options.source;
    p.seq = seq;
    p.interface = st.options.interface;

    std::array<std::byte, ntp::kHeaderSize> request{};
    ntp::Header h = st.client.next_request();
    if (!ntp::serialize(h, {}, std::nullopt, request)) return fail("cannot build a request", EX_SOFTWARE);
    const std::uint32_t id = st.socket.next_tx_id();
    p.user_tx = st.clock.now();
    p.time = p.user_tx;
    if (auto ok = st.socket.send_to(request, st.options.server); !ok) return Unexpected<Error>{ok.error()};
    st.client.on_sent(p.user_tx);

    std::array<std::byte, 1024> buf{};
    const std::int64_t deadline = monotonic_now() + st.options.timeout.count();
    std::int64_t end = deadline;
    bool grace_started = false;
    for (;;) {
        bool tx_done = p.software_tx && (!st.socket.hardware_timestamping() || p.hardware_tx);
        if (p.user_rx && tx_done) break;
        if (p.user_rx && p.software_tx && !grace_started) {  // only a hardware stamp is missing
            grace_started = true;
            end = std::min(deadline, monotonic_now() + kHardwareGrace);
        }
        std::int64_t left = end - monotonic_now();
        if (left <= 0) break;
        auto ready = wait_readable(st.socket.fd(), std::chrono::nanoseconds(left));
        if (!ready) return Unexpected<Error>{ready.error()};
        if (!*ready) continue;  // a signal, or the time is up: the loop checks
        std::array<TxTimestamp, 8> tx{};
        auto n = st.socket.read_tx_timestamps(tx);
        if (!n) return Unexpected<Error>{n.error()};
        for (std::size_t i = 0; i < *n; ++i) {
            if (tx[i].id != id) continue;  // a late stamp of an earlier request
            if (tx[i].tx_time != 0) p.software_tx = tx[i].tx_time;
            if (tx[i].hw_tx_time != 0) p.hardware_tx = tx[i].hw_tx_time;
        }
        for (;;) {
            RxSlot rx;
            rx.buffer = buf;
            auto got = st.socket.receive(rx);
            if (!got) return Unexpected<Error>{got.error()};
            if (!*got) break;
            const UnixNanos after = st.clock.now();
            if (p.user_rx) continue;  // a duplicate
            auto m = st.client.on_reply(rx.data(), rx.rx_time);
            // A reply is the answer to our request even when it carries no usable time
            // (unsynchronised, KoD): its stamps are what this probe is about.
            if (!m && !ntp::ends_exchange(m.error().reason)) {
                log::debug("datagram ignored: %s", std::string(ntp::to_string(m.error().reason)).c_str());
                continue;
            }
            p.user_rx = after;
            if (rx.kernel_time) p.software_rx = rx.rx_time;
            if (rx.hw_rx_time != 0) p.hardware_rx = rx.hw_rx_time;
        }
    }
    if (!p.user_rx) st.client.on_timeout();
    fill_differences(p);
    return p;
}

}  // namespace hwts
