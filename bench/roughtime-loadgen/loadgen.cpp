// The load loop: poll the sockets, drain each in batches (recvmmsg), match each reply to its
// slot by NONC, give the slot a fresh nonce and send it again, all of a socket's requests in one
// batch (sendmmsg); every few milliseconds resend what timed out. Then the final verification.
#include "bench/roughtime-loadgen/loadgen.hpp"

#include <poll.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "libtime/base/log.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/message.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/retry.hpp"
#include "libtime/roughtime/sample.hpp"
#include "libtime/roughtime/sequence.hpp"
#include "libtime/roughtime/version_set.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"

namespace timepipe::bench::rt {
namespace {

using roughtime::kMaxRequestSize;

constexpr std::size_t kBatch = 64;               // datagrams per recvmmsg / sendmmsg
constexpr std::size_t kRxBuffer = 2048;          // a response is never larger than its request
constexpr std::int64_t kSweepEvery = 5'000'000;  // ns between timeout sweeps
constexpr std::size_t kSeqBytes = 8;             // nonce[0, 8): run-wide sequence number
constexpr std::size_t kSlotBytes = 4;            // nonce[8, 12): slot number

struct Slot {
    std::array<std::byte, kMaxRequestSize> packet{};
    std::size_t length = 0;     // of the request in packet
    std::size_t nonce_at = 0;   // offset of NONC's value in packet
    std::int64_t sent_at = 0;   // CLOCK_MONOTONIC ns when it was queued
    std::uint32_t socket = 0;
    bool in_flight = false;
    bool queued = false;  // in its socket's pending list

    std::span<const std::byte> request() const { return std::span<const std::byte>(packet).first(length); }
};

struct Sock {
    UdpSocket socket;
    std::vector<std::uint32_t> pending;  // slots whose request is ready but not yet sent
};

struct Stored {  // one exchange kept for the final verification pass
    std::vector<std::byte> request;
    std::vector<std::byte> response;
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

void put_le(std::span<std::byte> out, std::uint64_t v) {
    for (auto& b : out) {
        b = static_cast<std::byte>(v & 0xFF);
        v >>= 8;
    }
}
std::uint64_t get_le(std::span<const std::byte> in) {
    std::uint64_t v = 0;
    for (std::size_t i = in.size(); i-- > 0;)
        v = (v << 8) | std::to_integer<std::uint64_t>(in[i]);
    return v;
}

// xorshift64*: the sampling decisions need speed, not secrecy.
class Rng {
public:
    Rng() {
        std::array<std::byte, 8> seed{};
        crypto::random_bytes(seed);
        state_ = get_le(seed) | 1;
    }
    std::uint64_t next() {
        state_ ^= state_ >> 12;
        state_ ^= state_ << 25;
        state_ ^= state_ >> 27;
        return state_ * 0x2545F4914F6CDD1DULL;
    }
    std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }

private:
    std::uint64_t state_ = 1;
};

class Generator {
public:
    Generator(const Config& cfg, std::vector<Sock> socks, std::vector<Slot> slots)
        : cfg_(cfg), nonce_size_(roughtime::nonce_size(cfg.versions)), socks_(std::move(socks)),
          slots_(std::move(slots)) {
        for (auto& s : socks_)
            s.pending.reserve(slots_.size());
        sample_.reserve(cfg_.sample);
        next_verify_ = draw_gap();
    }

    Stats run(const volatile std::sig_atomic_t& stop) {
        Cpu cpu0 = cpu_now();
        std::int64_t start = monotonic_now();
        std::int64_t deadline = start + cfg_.duration_ns;
        std::int64_t next_sweep = start + kSweepEvery;

        for (std::uint32_t i = 0; i < slots_.size(); ++i)
            if (may_issue()) issue(i, start);
        flush_all();

        std::vector<pollfd> fds(socks_.size());
        for (std::size_t i = 0; i < socks_.size(); ++i)
            fds[i] = {socks_[i].socket.fd(), POLLIN, 0};

        std::int64_t now = start;
        while (stop == 0 && now < deadline && !done()) {
            std::int64_t wait_ns = std::clamp<std::int64_t>(std::min(deadline, next_sweep) - now, 0, 10'000'000);
            timespec ts{0, static_cast<long>(wait_ns)};
            int ready = ::ppoll(fds.data(), fds.size(), &ts, nullptr);
            if (ready < 0 && errno != EINTR) {
                log::warn("poll");
                break;
            }
            if (ready > 0) {
                for (std::size_t i = 0; i < socks_.size(); ++i)
                    if (fds[i].revents != 0) drain(static_cast<std::uint32_t>(i));
            }
            now = monotonic_now();
            if (now >= next_sweep) {
                sweep(now);
                next_sweep = now + kSweepEvery;
            }
            flush_all();  // what a full socket buffer held back, and the resends
        }

        std::int64_t end = monotonic_now();
        Cpu cpu1 = cpu_now();
        stats_.elapsed_s = static_cast<double>(end - start) / 1e9;
        stats_.cpu_user_s = cpu1.user - cpu0.user;
        stats_.cpu_sys_s = cpu1.sys - cpu0.sys;
        stats_.outstanding = static_cast<std::uint64_t>(
            std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.in_flight; }));
        verify_sample();
        return std::move(stats_);
    }

private:
    bool done() const { return cfg_.requests != 0 && stats_.valid >= cfg_.requests; }
    bool may_issue() const { return cfg_.requests == 0 || issued_ < cfg_.requests; }

    // A fresh nonce in slot i (sequence number and slot in its first 12 octets); queue it.
    void issue(std::uint32_t i, std::int64_t now_mono) {
        Slot& s = slots_[i];
        auto nonce = std::span<std::byte>(s.packet).subspan(s.nonce_at, nonce_size_);
        put_le(nonce.first(kSeqBytes), ++sequence_);
        put_le(nonce.subspan(kSeqBytes, kSlotBytes), i);
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
        for (int round = 0; round < 4; ++round) {  // then the other sockets get their turn
            auto got = sock.socket.receive_batch(rx);
            if (!got) {
                if (got.error().exit_code == EX_UNAVAILABLE) {
                    ++stats_.refused;
                    continue;
                }
                log::fatalx(got.error().exit_code, "receive: %s", got.error().what.c_str());
            }
            if (*got == 0) break;
            std::int64_t now_mono = monotonic_now();
            for (std::size_t i = 0; i < *got; ++i)
                handle(si, rx[i].truncated ? std::span<const std::byte>() : rx[i].data(), now_mono);
            flush(si);
            if (*got < kBatch) break;
        }
    }

    // The NONC of a response, or empty when it does not parse or has none of the right size.
    std::span<const std::byte> nonce_of(std::span<const std::byte> data) const {
        std::span<const std::byte> body = data;
        if (roughtime::is_framed(data)) {
            auto b = roughtime::unframe(data);
            if (!b) return {};
            body = *b;
        }
        auto m = roughtime::parse_message(body);
        if (!m) return {};
        auto n = m->find(roughtime::tag::NONC);
        if (!n || n->size() != nonce_size_) return {};
        return *n;
    }

    void handle(std::uint32_t si, std::span<const std::byte> data, std::int64_t now_mono) {
        ++stats_.received;
        auto nonce = nonce_of(data);
        if (nonce.empty()) {
            ++stats_.invalid;
            return;
        }
        auto i = static_cast<std::uint32_t>(get_le(nonce.subspan(kSeqBytes, kSlotBytes)));
        if (i >= slots_.size()) {
            ++stats_.late;
            return;
        }
        Slot& s = slots_[i];
        if (!s.in_flight || s.socket != si ||
            !std::equal(nonce.begin(), nonce.end(), s.packet.begin() + static_cast<std::ptrdiff_t>(s.nonce_at))) {
            ++stats_.late;
            return;
        }
        s.in_flight = false;
        ++stats_.valid;
        stats_.latency.add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_mono - s.sent_at)));
        check(s, data);
        if (may_issue() && !done()) issue(i, now_mono);
    }

    // Inline verification of about every K-th valid reply, and the reservoir for the final pass.
    void check(const Slot& s, std::span<const std::byte> response) {
        if (cfg_.verify_every != 0 && --next_verify_ == 0) {
            next_verify_ = draw_gap();
            auto t = roughtime::verify_response(s.request(), response, cfg_.server_key);
            if (t) {
                ++stats_.verified;
            } else {
                ++stats_.failed;
                note_failure(t.error());
            }
        }
        if (cfg_.sample == 0) return;
        // Reservoir sampling (Algorithm R): every valid reply equally likely to be kept.
        std::uint64_t n = stats_.valid;
        std::size_t at = sample_.size();
        if (sample_.size() < cfg_.sample) {
            sample_.emplace_back();
        } else {
            at = rng_.below(n);
            if (at >= sample_.size()) return;
        }
        auto req = s.request();
        sample_[at].request.assign(req.begin(), req.end());
        sample_[at].response.assign(response.begin(), response.end());
    }

    unsigned draw_gap() {
        if (cfg_.verify_every <= 1) return 1;
        return static_cast<unsigned>(1 + rng_.below(2ULL * cfg_.verify_every - 1));
    }

    void note_failure(roughtime::VerifyError e) {
        if (stats_.first_failure.empty()) stats_.first_failure = std::string(roughtime::failure_text(e));
    }

    void verify_sample() {
        Cpu c0 = cpu_now();
        std::int64_t t0 = monotonic_now();
        for (const Stored& x : sample_) {
            auto t = roughtime::verify_response(x.request, x.response, cfg_.server_key);
            if (t) {
                ++stats_.sample_verified;
            } else {
                ++stats_.sample_failed;
                note_failure(t.error());
            }
        }
        std::int64_t t1 = monotonic_now();
        Cpu c1 = cpu_now();
        stats_.verify_s = static_cast<double>(t1 - t0) / 1e9;
        stats_.verify_cpu_s = (c1.user - c0.user) + (c1.sys - c0.sys);
    }

    // Requests unanswered for longer than the timeout are lost: send each again, anew.
    void sweep(std::int64_t now_mono) {
        for (std::uint32_t i = 0; i < slots_.size(); ++i) {
            Slot& s = slots_[i];
            if (s.in_flight && now_mono - s.sent_at > cfg_.timeout_ns) {
                ++stats_.lost;
                --issued_;  // the resend replaces it
                issue(i, now_mono);
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
                tx[k] = TxSlot{slots_[sock.pending[done_upto + k]].request(), cfg_.server, std::nullopt};
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
            if (*sent < n) break;  // socket buffer full: keep the rest for the next round
        }
        sock.pending.erase(sock.pending.begin(), sock.pending.begin() + static_cast<std::ptrdiff_t>(done_upto));
    }

    void flush_all() {
        for (std::uint32_t i = 0; i < socks_.size(); ++i)
            if (!socks_[i].pending.empty()) flush(i);
    }

    const Config& cfg_;
    std::size_t nonce_size_;
    std::vector<Sock> socks_;
    std::vector<Slot> slots_;
    std::uint64_t issued_ = 0;
    std::uint64_t sequence_ = 0;
    unsigned next_verify_ = 1;
    Rng rng_;
    std::vector<Stored> sample_;
    Stats stats_;
    std::array<std::array<std::byte, kRxBuffer>, kBatch> rxbuf_{};
};

// One request per slot, built by libtime with a random nonce; finds where the nonce sits.
Result<std::vector<Slot>> build_slots(const Config& cfg) {
    const std::size_t nonce_size = roughtime::nonce_size(cfg.versions);
    if (nonce_size < kSeqBytes + kSlotBytes + 16)
        return fail("nonce too short to number requests", EX_SOFTWARE);
    std::vector<Slot> slots(cfg.concurrency);
    std::vector<std::byte> nonce(nonce_size);
    for (std::uint32_t i = 0; i < slots.size(); ++i) {
        Slot& s = slots[i];
        s.socket = i % cfg.sockets;
        crypto::random_bytes(nonce);
        auto n = roughtime::build_request({.versions = cfg.versions, .nonce = nonce, .server_key = cfg.server_key},
                                          s.packet);
        if (!n) return fail("cannot build a request: " + std::string(roughtime::to_string(n.error())), EX_USAGE);
        s.length = *n;
        auto it = std::search(s.packet.begin(), s.packet.begin() + static_cast<std::ptrdiff_t>(s.length), nonce.begin(),
                              nonce.end());
        if (it == s.packet.begin() + static_cast<std::ptrdiff_t>(s.length))
            return fail("the nonce is not in the request built", EX_SOFTWARE);
        s.nonce_at = static_cast<std::size_t>(it - s.packet.begin());
    }
    return slots;
}

}  // namespace

Result<Stats> run_load(const Config& cfg, const volatile std::sig_atomic_t& stop) {
    auto slots = build_slots(cfg);
    if (!slots) return Unexpected<Error>{slots.error()};
    std::vector<Sock> socks;
    SocketOptions opts{.reuse_port = false, .rx_timestamps = false, .tx_timestamps = false, .pktinfo = false};
    for (unsigned i = 0; i < cfg.sockets; ++i) {
        auto s = UdpSocket::client(cfg.server.family(), opts);
        if (!s) return Unexpected<Error>{s.error()};
        // Connected: the kernel drops strangers' datagrams and reports ICMP errors to us.
        if (auto r = s->connect(cfg.server); !r) return Unexpected<Error>{r.error()};
        socks.push_back(Sock{std::move(*s), {}});
    }
    Generator g(cfg, std::move(socks), std::move(*slots));
    return g.run(stop);
}

}  // namespace timepipe::bench::rt
