#include "libtime/sys/udp_peer.hpp"

#include <array>

namespace timepipe {

Result<std::unique_ptr<UdpPeer>> UdpPeer::open(EventLoop& loop, const SocketAddress& peer, Callbacks callbacks) {
    SocketOptions so;
    so.tx_timestamps = true;
    so.pktinfo = false;
    auto sock = UdpSocket::client(peer.family(), so);
    if (!sock) return Unexpected<Error>{sock.error()};
    // Connected: only this peer's datagrams reach us, and ICMP errors are reported.
    if (auto ok = sock->connect(peer); !ok) return Unexpected<Error>{ok.error()};
    std::unique_ptr<UdpPeer> p(new UdpPeer(std::move(*sock), peer, std::move(callbacks)));
    auto w = FdWatcher::create(loop, p->socket_.fd(), [raw = p.get()](FdEvents) { raw->on_events(); });
    if (!w) return Unexpected<Error>{w.error()};
    p->watcher_.emplace(std::move(*w));
    return p;
}

void UdpPeer::stop() {
    stopped_ = true;
    if (watcher_) watcher_->stop();
}

void UdpPeer::on_events() {
    if (stopped_) return;
    std::array<TxTimestamp, 8> stamps;
    if (auto n = socket_.read_tx_timestamps(stamps)) {
        for (std::size_t i = 0; i < *n; ++i)
            if (callbacks_.on_tx_time) callbacks_.on_tx_time(stamps[i].id, stamps[i].tx_time);
    }
    for (int i = 0; i < 64 && !stopped_; ++i) {  // bounded: a flood cannot starve the loop
        std::array<std::byte, 1024> buf;
        RxSlot slot;
        slot.buffer = buf;
        auto got = socket_.receive(slot);
        if (!got) {
            if (callbacks_.on_error) callbacks_.on_error(got.error());
            continue;
        }
        if (!*got) break;
        if (!slot.truncated && callbacks_.on_datagram) callbacks_.on_datagram(slot.data(), slot.rx_time);
    }
}

}  // namespace timepipe
