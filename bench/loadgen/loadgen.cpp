// The load loop: poll the sockets, drain each in batches (recvmmsg), answer every completed
// exchange with a fresh request on the same socket, send those in one batch (sendmmsg), and
// every few milliseconds resend what timed out.
#include "bench/loadgen/loadgen.hpp"

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "libtime/log.hpp"
#include "libtime/ntp_packet.hpp"
#include "libtime/ntp_timestamp.hpp"
#include "libtime/sys_clock.hpp"
#include "libtime/sys_socket.hpp"

namespace timepipe::bench {
namespace {

constexpr std::size_t kBatch = 64;              // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kRxBuffer = 512;          // a reply is 48 octets; extensions fit
constexpr std::uint64_t kLowMask = 0xFFFFF;     // low 20 bits of the fraction: slot and generation
constexpr std::int64_t kSweepEvery = 5'000'000; // ns between timeout sweeps

struct Slot {
    std::array<std::byte, ntp::kHeaderSize> packet{};
    std::uint64_t transmit = 0;  // raw NTP timestamp of the request in flight
    std::int64_t sent_at = 0;    // CLOCK_MONOTONIC ns when it was queued
    std::uint32_t socket = 0;
    std::uint8_t generation = 0;
    bool in_flight = false;
    bool queued = false;  // in its socket's pending list
};

struct Sock {
    UdpSocket socket;
    std::vector<std::uint32_t> pending;  // slots whose request is built but not yet sent
};

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

struct Cpu {
    double user = 0, sys = 0;
};
Cpu cpu_now() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);  // cannot fail for RUSAGE_SELF
    return {seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

class Generator {
public:
    Generator(const Config& cfg, std::vector<Sock> socks) : cfg_(cfg), socks_(std::move(socks)), slots_(cfg.concurrency) {
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            slots_[i].socket = i % static_cast<std::uint32_t>(socks_.size());
        for (auto& s : socks_)
            s.pending.reserve(slots_.size());
    }

    Stats run(const volatile std::sig_atomic_t& stop) {
        Cpu cpu0 = cpu_now();
        std::int64_t start = monotonic_now();
        std::int64_t deadline = start + cfg_.duration_ns;
        std::int64_t next_sweep = start + kSweepEvery;

        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        last_refill_ = start;
        tokens_ = 1;
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            if (cfg_.rate > 0)
                waiting_.push_back(i);
            else if (may_issue())
                issue(i, now_ntp, start);
        }
        release(start);
        flush_all();

        std::vector<pollfd> fds(socks_.size());
        for (std::size_t i = 0; i < socks_.size(); ++i)
            fds[i] = {socks_[i].socket.fd(), POLLIN, 0};

        std::int64_t now = start;
        while (stop == 0 && now < deadline && !done()) {
            std::int64_t wake = std::min(deadline, next_sweep);
            if (!waiting_.empty() && cfg_.rate > 0)  // when the next token is due
                wake = std::min(wake, now + static_cast<std::int64_t>((1 - tokens_) / cfg_.rate * 1e9) + 1);
            std::int64_t wait_ns = std::clamp<std::int64_t>(wake - now, 0, 10'000'000);
            timespec ts{0, static_cast<long>(wait_ns)};
            int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
            if (ready < 0 && errno != EINTR) {
                log::warn("poll");
                break;
            }
            if (ready > 0) {
                for (std::size_t i = 0; i < socks_.size(); ++i)
                    if (fds[i].revents != 0)
                        drain(static_cast<std::uint32_t>(i));
            }
            now = monotonic_now();
            if (now >= next_sweep) {
                sweep(now);
                next_sweep = now + kSweepEvery;
            }
            release(now);
            flush_all();  // what a full socket buffer held back, the resends, the paced requests
        }

        std::int64_t end = monotonic_now();
        Cpu cpu1 = cpu_now();
        stats_.elapsed_s = static_cast<double>(end - start) / 1e9;
        stats_.cpu_user_s = cpu1.user - cpu0.user;
        stats_.cpu_sys_s = cpu1.sys - cpu0.sys;
        stats_.outstanding = static_cast<std::uint64_t>(
            std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.in_flight; }));
        return std::move(stats_);
    }

private:
    bool done() const { return cfg_.requests != 0 && stats_.valid + stats_.kod >= cfg_.requests; }
    bool may_issue() const { return cfg_.requests == 0 || issued_ < cfg_.requests; }

    // Builds a new request in slot i and queues it on the slot's socket.
    void issue(std::uint32_t i, std::uint64_t now_ntp, std::int64_t now_mono) {
        Slot& s = slots_[i];
        ++s.generation;
        s.transmit = (now_ntp & ~kLowMask) | (std::uint64_t{i} << 8) | s.generation;
        ntp::Header h;
        h.version = 4;
        h.mode = ntp::Mode::Client;
        h.transmit = ntp::NtpTimestamp{s.transmit};
        auto n = ntp::serialize(h, {}, std::nullopt, s.packet);
        if (!n || *n != ntp::kHeaderSize)
            log::fatalx(EX_SOFTWARE, "cannot serialise a client request");
        s.sent_at = now_mono;
        s.in_flight = true;
        ++issued_;
        if (!s.queued) {
            s.queued = true;
            socks_[s.socket].pending.push_back(i);
        }
    }

    void drain(std::uint32_t si) {
        Sock& sock = socks_[si];
        std::array<RxSlot, kBatch> rx;
        for (std::size_t i = 0; i < kBatch; ++i)
            rx[i].buffer = std::span<std::byte>(rxbuf_[i]);
        // A few batches at most, so one busy socket cannot starve the others.
        for (int round = 0; round < 4; ++round) {
            auto got = sock.socket.receive_batch(rx);
            if (!got) {
                if (got.error().exit_code == EX_UNAVAILABLE) {
                    ++stats_.refused;
                    continue;
                }
                log::fatalx(got.error().exit_code, "receive: %s", got.error().what.c_str());
            }
            if (*got == 0)
                break;
            std::int64_t now_mono = monotonic_now();
            std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
            for (std::size_t i = 0; i < *got; ++i)
                handle(si, rx[i], now_mono, now_ntp);
            flush(si);
            if (*got < kBatch)
                break;
        }
    }

    void handle(std::uint32_t si, const RxSlot& rx, std::int64_t now_mono, std::uint64_t now_ntp) {
        ++stats_.received;
        auto p = ntp::parse(rx.data());
        if (!p || p->header.mode != ntp::Mode::Server) {
            ++stats_.invalid;
            return;
        }
        std::uint64_t origin = p->header.origin.raw;
        auto i = static_cast<std::uint32_t>((origin >> 8) & 0xFFF);
        if (i >= slots_.size() || !slots_[i].in_flight || slots_[i].transmit != origin || slots_[i].socket != si) {
            ++stats_.late;
            return;
        }
        Slot& s = slots_[i];
        s.in_flight = false;
        if (ntp::is_kiss_of_death(p->header)) {
            ++stats_.kod;
        } else {
            ++stats_.valid;
            stats_.latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_mono - s.sent_at)));
            if (rx.kernel_time) {  // a clock read after recvmmsg would measure our own delay
                std::int64_t lag = rx.rx_time - ntp::to_unix_nanos(p->header.transmit, rx.rx_time);
                if (lag < 0)
                    ++stats_.tx_lag_negative;
                stats_.tx_lag.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, lag)));
            }
        }
        if (!may_issue() || done())
            return;
        if (cfg_.rate > 0)
            waiting_.push_back(i);  // release() sends it when the rate allows
        else
            issue(i, now_ntp, now_mono);
    }

    // Paced mode: a token per 1/rate s, at most 1 ms (and at least 4) banked; a slot per token.
    void release(std::int64_t now_mono) {
        if (cfg_.rate <= 0 || waiting_.empty())
            return;
        double burst = std::max(4.0, cfg_.rate / 1000);
        tokens_ = std::min(burst, tokens_ + static_cast<double>(now_mono - last_refill_) * cfg_.rate / 1e9);
        last_refill_ = now_mono;
        if (tokens_ < 1)
            return;
        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        std::size_t k = 0;
        while (k < waiting_.size() && tokens_ >= 1 && may_issue()) {
            issue(waiting_[k++], now_ntp, now_mono);
            tokens_ -= 1;
        }
        waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(k));
    }

    // Requests unanswered for longer than the timeout are lost: send each again, anew.
    void sweep(std::int64_t now_mono) {
        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            if (s.in_flight && now_mono - s.sent_at > cfg_.timeout_ns) {
                ++stats_.lost;
                --issued_;  // the resend replaces it
                issue(i, now_ntp, now_mono);
            }
        }
    }

    void flush(std::uint32_t si) {
        Sock& sock = socks_[si];
        std::size_t done_upto = 0;
        while (done_upto < sock.pending.size()) {
            std::size_t n = std::min(kBatch, sock.pending.size() - done_upto);
            std::array<TxSlot, kBatch> tx;
            for (std::size_t k = 0; k < n; ++k)
                tx[k] = TxSlot{slots_[sock.pending[done_upto + k]].packet, cfg_.server, std::nullopt};
            auto sent = sock.socket.send_batch(std::span<const TxSlot>(tx.data(), n));
            if (!sent) {
                if (sent.error().exit_code == EX_UNAVAILABLE) {
                    ++stats_.refused;  // the error was consumed; the datagrams are retried
                    break;
                }
                log::fatalx(sent.error().exit_code, "send: %s", sent.error().what.c_str());
            }
            stats_.sent += *sent;
            for (std::size_t k = 0; k < *sent; ++k)
                slots_[sock.pending[done_upto + k]].queued = false;
            done_upto += *sent;
            if (*sent < n)
                break;  // socket buffer full: keep the rest for the next round
        }
        sock.pending.erase(sock.pending.begin(), sock.pending.begin() + static_cast<std::ptrdiff_t>(done_upto));
    }

    void flush_all() {
        for (std::uint32_t i = 0; i < socks_.size(); ++i)
            if (!socks_[i].pending.empty())
                flush(i);
    }

    const Config& cfg_;
    std::vector<Sock> socks_;
    std::vector<Slot> slots_;
    SystemClock clock_;
    std::uint64_t issued_ = 0;
    std::vector<std::uint32_t> waiting_;  // paced mode: slots waiting for a token, oldest first
    double tokens_ = 0;
    std::int64_t last_refill_ = 0;
    Stats stats_;
    std::array<std::array<std::byte, kRxBuffer>, kBatch> rxbuf_{};
};

}  // namespace

Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop) {
    std::vector<Sock> socks;
    // Kernel receive timestamps for the tx_lag figure (loadgen.hpp).
    SocketOptions opts{.reuse_port = false, .rx_timestamps = true, .tx_timestamps = false, .pktinfo = false};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
        auto s = cfg.spread_sources
                     ? UdpSocket::bind(SocketAddress::v4({std::byte{127}, {}, {}, static_cast<std::byte>(i + 1)}, 0), opts)
                     : UdpSocket::client(cfg.server.family(), opts);
        if (!s)
            return Unexpected<Error>{s.error()};
        // Connected: the kernel drops strangers' datagrams and reports ICMP errors to us.
        if (auto r = s->connect(cfg.server); !r)
            return Unexpected<Error>{r.error()};
        socks.push_back(Sock{std::move(*s), {}});
    }
    Generator g(cfg, std::move(socks));
    return g.run(stop);
}

}  // namespace timepipe::bench
