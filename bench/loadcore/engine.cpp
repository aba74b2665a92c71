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
#include "bench/loadcore/engine.hpp"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>

#include "libtime/base/log.hpp"
#include "libtime/sys/clock.hpp"

namespace timepipe::bench {
namespace {

constexpr std::size_t kBatch = 64;                 // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kRxBuffer = 2048;            // NTP replies and Roughtime responses fit
constexpr std::int64_t kSweepEvery = 5'000'000;    // ns between timeout sweeps
constexpr std::int64_t kLatencyStep = 250;         // ns per step of the wake-up latency estimate
constexpr std::int64_t kMaxWakeLatency = 200'000;  // ns: beyond it, sleep and be late

double seconds(const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; }

}  // namespace

CpuTime process_cpu_time() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);  // cannot fail for RUSAGE_SELF
    return {seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

LoadEngine::LoadEngine(const LoadShape& shape, SocketAddress server, std::vector<UdpSocket> sockets,
                       LoadCounters& counters)
    : shape_(shape), server_(server), slots_(shape.concurrency), stats_(counters), free_(sockets.size()),
      rng_(shape.seed), gap_(shape.rate > 0 ? shape.rate / 1e9 : 1.0), rxbuf_(kBatch, std::vector<std::byte>(kRxBuffer)) {
    for (auto& s : sockets)
        socks_.push_back(Sock{std::move(s), {}});
    for (auto& s : socks_)
        s.pending.reserve(slots_.size());
    if (open_loop()) {
        for (auto& f : free_)
            f.reserve(slots_.size());
        for (auto i = static_cast<std::uint32_t>(slots_.size()); i-- > 0;)
            free_[socket_of(i)].push_back(i);  // popped from the back: slot 0 first
        free_count_ = slots_.size();
    }
}

void LoadEngine::run(const volatile std::sig_atomic_t& stop) {
    if (open_loop() && ::prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL) != 0)
        log::warn("prctl(PR_SET_TIMERSLACK): wake-ups may land up to 50 us after the schedule");
    CpuTime cpu0 = process_cpu_time();
    std::int64_t start = monotonic_now();
    std::int64_t deadline = start + shape_.duration_ns;
    std::int64_t next_sweep = start + kSweepEvery;
    start_ = start;
    deadline_ = deadline;

    if (open_loop()) {
        next_at_ = gap_(rng_);  // a Poisson process: the first arrival after one gap too
    } else {
        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            if (may_issue())
                issue(i, start);
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
    CpuTime cpu1 = process_cpu_time();
    stats_.elapsed_s = static_cast<double>(end - start) / 1e9;
    stats_.cpu_user_s = cpu1.user - cpu0.user;
    stats_.cpu_sys_s = cpu1.sys - cpu0.sys;
    stats_.spin_s = static_cast<double>(spin_ns_) / 1e9;
    for (auto& s : socks_)
        if (auto d = s.socket.receive_drops()) stats_.dropped_here += *d;
    stats_.outstanding = static_cast<std::uint64_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.in_flight; }));
}

// A fresh request in slot i, queued on the slot's socket.
void LoadEngine::issue(std::uint32_t i, std::int64_t now_mono) {
    Slot& s = slots_[i];
    s.request = refresh(i);
    s.sent_at = now_mono;
    s.in_flight = true;
    ++issued_;
    if (!s.queued) {
        s.queued = true;
        socks_[socket_of(i)].pending.push_back(i);
    }
}

void LoadEngine::drain(std::uint32_t si) {
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
        for (std::size_t i = 0; i < *got; ++i)
            handle(si, rx[i], now_mono);
        flush(si);
        if (*got < kBatch)
            break;
    }
}

void LoadEngine::handle(std::uint32_t si, const RxSlot& rx, std::int64_t now_mono) {
    ++stats_.received;
    Match m = rx.truncated ? Match{} : match(rx);
    if (m.kind == Match::Kind::Invalid) {
        ++stats_.invalid;
        return;
    }
    if (m.kind == Match::Kind::Late || m.slot >= slots_.size() || !slots_[m.slot].in_flight ||
        socket_of(m.slot) != si) {
        ++stats_.late;
        return;
    }
    Slot& s = slots_[m.slot];
    s.in_flight = false;
    ++completed_;
    if (open_loop())
        release_slot(m.slot);
    if (answered(m.slot, rx)) {
        ++stats_.valid;
        stats_.latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_mono - s.sent_at)));
    }
    if (open_loop() || !may_issue() || done())
        return;
    issue(m.slot, now_mono);
}

// Open loop: every request scheduled before now (and before the deadline) goes out now, in
// one batch: on free slots of the next socket in turn (of the following ones when it has no
// more), or is skipped when all `concurrency` are out. Nothing waits for a slot: that would
// let the replies pace the load again. One socket per batch, one sendmmsg per wake-up: a
// round-robin per request would cost one sendmmsg (and later one recvmmsg) per socket.
void LoadEngine::offer(std::int64_t now_mono) {
    double now = static_cast<double>(std::min(now_mono, deadline_ - 1) - start_);
    if (next_at_ > now)
        return;
    for (; next_at_ <= now; next_at_ += gap_(rng_)) {
        if (!may_issue())
            continue;  // -n: that many requests are out; the schedule runs on unsent
        ++stats_.scheduled;
        if (free_count_ == 0) {
            ++stats_.skipped;
            continue;
        }
        issue(take_slot(), now_mono);
        stats_.send_lag.add(static_cast<std::uint64_t>(std::max(0.0, now - next_at_)));
    }
    next_socket_ = (next_socket_ + 1) % free_.size();  // the next batch, the next socket
}

// A free slot, from next_socket_ or the first socket after it that has one.
std::uint32_t LoadEngine::take_slot() {
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

void LoadEngine::release_slot(std::uint32_t i) {
    free_[socket_of(i)].push_back(i);
    ++free_count_;
}

// Requests unanswered for longer than the timeout are lost. Closed loop: send each again,
// anew. Open loop: free its slot; the schedule's next request goes out in its time.
void LoadEngine::sweep(std::int64_t now_mono) {
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.in_flight && now_mono - s.sent_at > shape_.timeout_ns) {
            ++stats_.lost;
            --issued_;  // closed loop: the resend replaces it; open loop: one more may go
            if (open_loop()) {
                s.in_flight = false;
                release_slot(i);
            } else {
                issue(i, now_mono);
            }
        }
    }
}

void LoadEngine::flush(std::uint32_t si) {
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
            tx[k] = TxSlot{slots_[sock.pending[done_upto + k]].request, server_, std::nullopt};
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

void LoadEngine::flush_all() {
    for (std::uint32_t i = 0; i < socks_.size(); ++i)
        if (!socks_[i].pending.empty())
            flush(i);
}

}  // namespace timepipe::bench
