// The load loop: poll the sockets, drain each in batches (recvmmsg), and every few milliseconds
// sweep what timed out. Closed loop: answer every completed exchange with a fresh request on the
// same socket, send those in one batch (sendmmsg), resend what was lost. Open loop: wait until
// the next scheduled send time or a reply, whichever comes first, then send every request whose
// time has come in one batch; a reply or a loss only frees its slot.
//
// Open-loop waits: a timed wait wakes some time after it expires even with 1 µs of timer slack
// (here, a VM: 20-40 µs, and each costs about 20 µs of CPU). The loop learns that wake-up
// latency (its median over the timed waits) and asks to wake that much before the next send;
// a wait shorter than it is spent polling the sockets without a timeout (ppoll with a zero
// timeout, so replies are still read), then the requests go out on time.
#include "bench/loadgen/loadgen.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "libtime/base/log.hpp"
#include "libtime/ntp/packet.hpp"
#include "libtime/ntp/timestamp.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe::bench {
namespace {

constexpr std::size_t kBatch = 64;              // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kRxBuffer = 512;          // a reply is 48 octets; extensions fit
constexpr std::uint64_t kLowMask = 0xFFFFF;     // low 20 bits of the fraction: slot and generation
constexpr std::int64_t kSweepEvery = 5'000'000; // ns between timeout sweeps
constexpr std::int64_t kLatencyStep = 250;      // ns per step of the wake-up latency estimate
constexpr std::int64_t kMaxWakeLatency = 200'000;  // ns: beyond it, sleep and be late

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
    Generator(const Config& cfg, std::vector<Sock> socks)
        : cfg_(cfg), socks_(std::move(socks)), slots_(cfg.concurrency), free_(socks_.size()), rng_(cfg.seed),
          gap_(cfg.rate > 0 ? cfg.rate / 1e9 : 1.0) {
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            slots_[i].socket = i % static_cast<std::uint32_t>(socks_.size());
        for (auto& s : socks_)
            s.pending.reserve(slots_.size());
        if (open_loop()) {
            for (auto& f : free_)
                f.reserve(slots_.size());
            for (auto i = static_cast<std::uint32_t>(slots_.size()); i-- > 0;)
                free_[slots_[i].socket].push_back(i);  // popped from the back: slot 0 first
            free_count_ = slots_.size();
        }
    }

    Stats run(const volatile std::sig_atomic_t& stop) {
        if (open_loop() && ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL) != 0)
            log::warn("prctl(PR_SET_TIMERSLACK): wake-ups may land up to 50 us after the schedule");
        Cpu cpu0 = cpu_now();
        std::int64_t start = monotonic_now();
        std::int64_t deadline = start + cfg_.duration_ns;
        std::int64_t next_sweep = start + kSweepEvery;
        start_ = start;
        deadline_ = deadline;

        if (open_loop()) {
            next_at_ = gap_(rng_);  // a Poisson process: the first arrival after one gap too
        } else {
            std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
            for (std::uint32_t i = 0; i < slots_.size(); ++i)
                if (may_issue())
                    issue(i, now_ntp, start);
            flush_all();
        }

        std::vector<pollfd> fds(socks_.size());
        for (std::size_t i = 0; i < socks_.size(); ++i)
            fds[i] = {socks_[i].socket.fd(), POLLIN, 0};

        std::int64_t now = start;
        while (stop == 0 && now < deadline && !done()) {
            std::int64_t wake = std::min(deadline, next_sweep);
            std::int64_t wait_ns = 0;
            std::int64_t expiry = 0;  // open loop: when the timed wait should end, 0 if none
            if (open_loop()) {
                // The next scheduled request (rounded up to a whole ns), woken for early by the
                // latency learnt; spin (zero timeout) when it is closer than that.
                wake = std::min(wake, start + static_cast<std::int64_t>(std::ceil(next_at_)));
                now = monotonic_now();  // sending the last batch took time
                wait_ns = std::min<std::int64_t>(wake - now - wake_latency_, 10'000'000);
                if (wait_ns > 0)
                    expiry = now + wait_ns;
                else
                    wait_ns = 0;
            } else {
                wait_ns = std::clamp<std::int64_t>(wake - now, 0, 10'000'000);
            }
            bool spinning = open_loop() && wait_ns == 0 && wake > now;  // early, nothing to do yet
            std::int64_t polled_at = now;
            timespec ts{0, static_cast<long>(wait_ns)};
            int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
            if (ready == 0 && expiry != 0) {
                // A step towards the median wake-up latency (robust to a rare long one).
                std::int64_t late = monotonic_now() - expiry;
                wake_latency_ = std::clamp<std::int64_t>(
                    wake_latency_ + (late > wake_latency_ ? kLatencyStep : -kLatencyStep), 0, kMaxWakeLatency);
            }
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
            if (spinning && ready == 0)
                spin_ns_ += now - polled_at;
            if (now >= next_sweep) {
                sweep(now);
                next_sweep = now + kSweepEvery;
            }
            if (open_loop())
                offer(now);
            flush_all();  // what a full socket buffer held back, the resends, the scheduled requests
        }

        std::int64_t end = monotonic_now();
        Cpu cpu1 = cpu_now();
        stats_.elapsed_s = static_cast<double>(end - start) / 1e9;
        stats_.cpu_user_s = cpu1.user - cpu0.user;
        stats_.cpu_sys_s = cpu1.sys - cpu0.sys;
        stats_.spin_s = static_cast<double>(spin_ns_) / 1e9;
        stats_.outstanding = static_cast<std::uint64_t>(
            std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.in_flight; }));
        return std::move(stats_);
    }

private:
    bool open_loop() const { return cfg_.rate > 0; }
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
        if (open_loop())
            release_slot(i);
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
        if (open_loop() || !may_issue() || done())
            return;
        issue(i, now_ntp, now_mono);
    }

    // Open loop: every request scheduled before now (and before the deadline) goes out now, in
    // one batch: on free slots of the next socket in turn (of the following ones when it has no
    // more), or is skipped when all `concurrency` are out. Nothing waits for a slot: that would
    // let the replies pace the load again. One socket per batch, one sendmmsg per wake-up: a
    // round-robin per request would cost one sendmmsg (and later one recvmmsg) per socket.
    void offer(std::int64_t now_mono) {
        double now = static_cast<double>(std::min(now_mono, deadline_ - 1) - start_);
        if (next_at_ > now)
            return;
        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        for (; next_at_ <= now; next_at_ += gap_(rng_)) {
            if (!may_issue())
                continue;  // -n: that many requests are out; the schedule runs on unsent
            ++stats_.scheduled;
            if (free_count_ == 0) {
                ++stats_.skipped;
                continue;
            }
            issue(take_slot(), now_ntp, now_mono);
            stats_.send_lag.add(static_cast<std::uint64_t>(std::max(0.0, now - next_at_)));
        }
        next_socket_ = (next_socket_ + 1) % free_.size();  // the next batch, the next socket
    }

    // A free slot, from next_socket_ or the first socket after it that has one.
    std::uint32_t take_slot() {
        for (std::size_t k = 0; k < free_.size(); ++k) {
            std::size_t si = (next_socket_ + k) % free_.size();
            if (free_[si].empty())
                continue;
            std::uint32_t i = free_[si].back();
            free_[si].pop_back();
            --free_count_;
            return i;
        }
        log::fatalx(EX_SOFTWARE, "no free slot although %zu are counted free", free_count_);
    }
    void release_slot(std::uint32_t i) {
        free_[slots_[i].socket].push_back(i);
        ++free_count_;
    }

    // Requests unanswered for longer than the timeout are lost. Closed loop: send each again,
    // anew. Open loop: free its slot; the schedule's next request goes out in its time.
    void sweep(std::int64_t now_mono) {
        std::uint64_t now_ntp = ntp::from_unix_nanos(clock_.now()).raw;
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            if (s.in_flight && now_mono - s.sent_at > cfg_.timeout_ns) {
                ++stats_.lost;
                --issued_;  // closed loop: the resend replaces it; open loop: one more may go
                if (open_loop()) {
                    s.in_flight = false;
                    release_slot(i);
                } else {
                    issue(i, now_ntp, now_mono);
                }
            }
        }
    }

    void flush(std::uint32_t si) {
        Sock& sock = socks_[si];
        // Open loop: a request held back (socket buffer full, or an ICMP error) until it timed
        // out is lost, not sent late; drop it unless its slot was taken again meanwhile.
        std::erase_if(sock.pending, [this](std::uint32_t i) {
            if (slots_[i].in_flight)
                return false;
            slots_[i].queued = false;
            return true;
        });
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
    std::int64_t start_ = 0, deadline_ = 0;  // CLOCK_MONOTONIC ns
    // Open loop: free slots per socket (slot i belongs to socket i % sockets), the socket the
    // next request tries first, and the schedule: the next request's send time, ns after start_.
    std::vector<std::vector<std::uint32_t>> free_;
    std::size_t free_count_ = 0;
    std::size_t next_socket_ = 0;
    std::mt19937_64 rng_;
    std::exponential_distribution<double> gap_;  // ns, mean 1e9 / rate
    double next_at_ = 0;
    std::int64_t spin_ns_ = 0;
    std::int64_t wake_latency_ = 0;  // ns a timed wait ends after its expiry (median estimate)
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
