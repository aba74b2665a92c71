// NTP on the shared load engine: requests are client packets whose transmit timestamp names the
// slot (loadgen.hpp), 48 octets or, with NTS, followed by its fields; replies are matched by
// their origin timestamp and, with NTS, authenticated.
#include "bench/loadgen/loadgen.hpp"

#include <array>
#include <optional>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/base/log.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/ntp/timestamp.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe::bench {
namespace {

constexpr std::uint64_t kLowMask = 0xFFFFF;  // low 20 bits of the fraction: slot and generation

class NtpLoad final : public LoadEngine {
public:
    NtpLoad(const Config& cfg, std::vector<UdpSocket> sockets, Stats& stats)
        : LoadEngine(cfg, cfg.server, std::move(sockets), stats), stats_(stats), slots_(cfg.concurrency),
          nts_(cfg.nts) {
        if (nts_) {
            crypto::random_bytes(run_id_);
            for (std::size_t i = 0; i < slots_.size(); ++i)
                slots_[i].cookie = nts_->cookies[i % nts_->cookies.size()];
        }
    }

private:
    // Room for the header and NTS's fields: UID, one cookie, the authenticator.
    static constexpr std::size_t kPacketRoom = 1024;

    struct Slot {
        std::array<std::byte, kPacketRoom> packet{};
        std::size_t length = 0;
        std::uint64_t transmit = 0;  // raw NTP timestamp of the request in flight
        std::uint8_t generation = 0;
        std::array<std::byte, nts::kUniqueIdSize> uid{};  // NTS: of the request in flight
        nts::Cookie cookie;                               // NTS: spent by the next request
    };

    // NTS: the UID is the run's random part, then the request's transmit timestamp (unique per
    // slot and generation).
    void write_uid(Slot& s) {
        std::copy(run_id_.begin(), run_id_.end(), s.uid.begin());
        for (int b = 0; b < 8; ++b)
            s.uid[run_id_.size() + static_cast<std::size_t>(b)] = static_cast<std::byte>(s.transmit >> (56 - 8 * b));
    }

    std::span<const std::byte> refresh(std::uint32_t i) override {
        Slot& s = slots_[i];
        ++s.generation;
        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        s.transmit = (now_ntp & ~kLowMask) | (std::uint64_t{i} << 8) | s.generation;
        ntp::Header h;
        h.version = 4;
        h.mode = ntp::Mode::Client;
        h.transmit = ntp::NtpTimestamp{s.transmit};
        auto n = ntp::serialize(h, {}, std::nullopt, s.packet);
        if (!n || *n != ntp::kHeaderSize)
            log::fatalx(EX_SOFTWARE, "cannot serialise a client request");
        s.length = *n;
        if (nts_) {
            write_uid(s);
            auto m = nts::write_client_request(siv_, nts_->keys, s.uid, s.cookie, 0, s.packet);
            if (!m)
                log::fatalx(EX_SOFTWARE, "cannot write an NTS request: %s", m.error().what.c_str());
            s.length = *m;
        }
        return std::span<const std::byte>(s.packet).first(s.length);
    }

    Match match(const RxSlot& rx) override {
        auto p = ntp::parse(rx.data());
        if (!p || p->header.mode != ntp::Mode::Server)
            return {Match::Kind::Invalid, 0};
        std::uint64_t origin = p->header.origin.raw;
        auto i = static_cast<std::uint32_t>((origin >> 8) & 0xFFF);
        if (i >= slots_.size() || slots_[i].transmit != origin)
            return {Match::Kind::Late, 0};
        reply_ = p->header;
        return {Match::Kind::Answer, i};
    }

    // `reply_` is the header match() just parsed for this reply.
    bool answered(std::uint32_t i, const RxSlot& rx) override {
        if (nts_) {
            Slot& s = slots_[i];
            if (nts::is_nts_nak(rx.data(), s.uid)) {
                ++stats_.nts_nak;
                return false;
            }
            auto cookies = nts::read_server_response(siv_, nts_->keys, s.uid, rx.data());
            if (!cookies) {
                ++stats_.nts_invalid;
                return false;
            }
            s.cookie = std::move(cookies->front());
        }
        if (ntp::is_kiss_of_death(reply_)) {
            ++stats_.kod;
            return false;
        }
        if (rx.kernel_time) {  // a clock read after recvmmsg would measure our own delay
            std::int64_t lag = rx.rx_time - ntp::to_unix_nanos(reply_.transmit, rx.rx_time);
            if (lag < 0)
                ++stats_.tx_lag_negative;
            stats_.tx_lag.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag)));
        }
        return true;
    }

    Stats& stats_;
    std::vector<Slot> slots_;
    SystemClock clock_;
    ntp::Header reply_;
    std::optional<NtsSetup> nts_;
    nts::Siv siv_;
    std::array<std::byte, nts::kUniqueIdSize - 8> run_id_{};
};

}  // namespace

Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop) {
    std::vector<UdpSocket> socks;
    // Kernel receive timestamps for the tx_lag figure (loadgen.hpp).
    // A large receive buffer: replies arriving while this process is busy sealing requests
    // wait instead of being dropped (the kernel caps it at net.core.rmem_max).
    SocketOptions opts{.reuse_port = false, .rx_timestamps = true, .tx_timestamps = false, .pktinfo = false,
                       .receive_buffer = 4 << 20};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
        auto s = cfg.spread_sources
                     ? UdpSocket::bind(SocketAddress::v4({std::byte{127}, {}, {}, static_cast<std::byte>(i + 1)}, 0), opts)
                     : UdpSocket::client(cfg.server.family(), opts);
        if (!s)
            return Unexpected<Error>{s.error()};
        // Connected: the kernel drops strangers' datagrams and reports ICMP errors to us.
        if (auto r = s->connect(cfg.server); !r)
            return Unexpected<Error>{r.error()};
        socks.push_back(std::move(*s));
    }
    Stats stats;
    NtpLoad(cfg, std::move(socks), stats).run(stop);
    return stats;
}

}  // namespace timepipe::bench
