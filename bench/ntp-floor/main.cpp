// ntp-floor: the floor for bench/ntp-serve-vs-chronyd — a UDP responder that does what every NTP
// server must do per request through the socket API (a kernel receive timestamp, recvmmsg,
// sendmmsg, one thread) and no NTP work at all: no parsing, no clock read, no rate limit, no
// counters. A reply is the request with its mode set to server (4), stratum 2, and its transmit
// timestamp copied to the origin field (its own transmit timestamp is the request's: tx-lag
// means nothing for it), which is all ntp-loadgen needs to match it. What a server costs
// above this is what its own code costs.
//
//   ntp-floor --listen 127.0.0.1:PORT      (SIGINT/SIGTERM end it, status 0)
#include <getopt.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/socket.hpp"

using namespace timepipe;

namespace {

constexpr std::size_t kBatch = 64;        // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kPacket = 48;       // an NTP header; longer requests are answered with 48
constexpr std::size_t kOrigin = 24, kTransmit = 40;

void usage(std::FILE* out) {
    std::fputs("usage: ntp-floor --listen ADDRESS:PORT\n"
               "Answers NTP client requests with the least work a UDP server can do (benchmark floor).\n",
               out);
}

}  // namespace

int main(int argc, char** argv) {
    log::set_program(argv[0]);
    const option longopts[] = {{"listen", required_argument, nullptr, 'l'},
                               {"help", no_argument, nullptr, 'h'},
                               {nullptr, 0, nullptr, 0}};
    opterr = 0;
    const char* listen = nullptr;
    int c;
    while ((c = getopt_long(argc, argv, ":l:h", longopts, nullptr)) != -1) {
        switch (c) {
        case 'l': listen = optarg; break;
        case 'h': usage(stdout); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (!listen || optind != argc)
        log::fatalx(EX_USAGE, "--listen ADDRESS:PORT is required, and nothing else (see -h)");
    auto hp = parse_host_port(listen);
    if (!hp || !hp->port)
        log::fatalx(EX_USAGE, "--listen: \"%s\" is not ADDRESS:PORT", listen);
    auto addrs = resolve(*hp, *hp->port);
    if (!addrs)
        log::fatalx(addrs.error().exit_code, "%s: %s", listen, addrs.error().what.c_str());
    // The same socket work as ntp-serve's defaults: kernel receive timestamps on.
    SocketOptions opts{.reuse_port = false, .rx_timestamps = true, .tx_timestamps = false, .pktinfo = false};
    auto sock = UdpSocket::bind(addrs->front(), opts);
    if (!sock)
        log::fatalx(sock.error().exit_code, "%s: %s", listen, sock.error().what.c_str());
    if (auto ok = catch_stop_signals(); !ok)
        log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    std::array<std::array<std::byte, 2048>, kBatch> rxbuf{};
    std::array<std::array<std::byte, kPacket>, kBatch> txbuf{};
    std::array<RxSlot, kBatch> rx;
    std::array<TxSlot, kBatch> tx;
    for (std::size_t i = 0; i < kBatch; ++i)
        rx[i].buffer = rxbuf[i];
    std::uint64_t answered = 0;
    while (!stop_requested()) {
        auto ready = wait_readable(sock->fd(), std::chrono::seconds(1));
        if (!ready)
            log::fatalx(ready.error().exit_code, "poll: %s", ready.error().what.c_str());
        for (;;) {
            auto got = sock->receive_batch(rx);
            if (!got)
                log::fatalx(got.error().exit_code, "receive: %s", got.error().what.c_str());
            std::size_t n = 0;
            for (std::size_t i = 0; i < *got; ++i) {
                if (rx[i].length < kPacket)
                    continue;
                auto& out = txbuf[n];
                std::memcpy(out.data(), rx[i].buffer.data(), kPacket);
                out[0] = static_cast<std::byte>((std::to_integer<unsigned>(out[0]) & 0x38) | 4);  // VN kept, mode 4
                out[1] = std::byte{2};  // stratum 2: a stratum of 0 would read as a kiss-o'-death
                std::memcpy(out.data() + kOrigin, out.data() + kTransmit, 8);
                tx[n++] = TxSlot{out, rx[i].peer, std::nullopt};
            }
            for (std::size_t done = 0; done < n;) {
                auto sent = sock->send_batch(std::span<const TxSlot>(tx.data() + done, n - done));
                if (!sent || *sent == 0)
                    break;  // a full socket buffer drops replies, as a server under overload would
                done += *sent;
                answered += *sent;
            }
            if (*got < kBatch)
                break;
        }
    }
    std::fprintf(stderr, "ntp-floor: exiting: answered=%llu\n", static_cast<unsigned long long>(answered));
    return 0;
}
