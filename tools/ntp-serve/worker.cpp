// The I/O loop: wait in ppoll() on the worker's sockets (or, while requests come often, sleep
// a fixed short time: WakeupModeration), read a batch, decide each datagram with
// ntp::Responder, send the batch, and (interleaved mode) read the kernel's transmit
// timestamps back into the interleave table. NTS requests: every client of the batch admitted
// first (access, rate limit), then the batch's NTS requests checked at once (NtsServer), each
// response sealed after its header is written. Each reply's transmit timestamp is its expected
// departure within the batch (SendDelay). Only responses the Responder marks tx_timestamp
// are stamped: the first to a new client and those in interleaved mode; stamps are read back
// right after the batch that asked for them.
// No event loop here: an epoll registration would stay on the socket's wait queue and be woken
// for every datagram queued and every reply freed; ppoll() waits only while we sleep.
// Every buffer is allocated once (NtsServer's per-request slots: at the first batch that needs them).
#include "tools/ntp-serve/worker.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>

#include <sodium.h>

#include "libtime/base/log.hpp"
#include "libtime/nts/ntp_fields.hpp"
#include "libtime/server/send_delay.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/server/wakeup_moderation.hpp"

namespace timepipe::serve {

namespace {
constexpr std::size_t kBatch = 32;         // datagrams per recvmmsg
// Replies built, then sent (one sendmmsg), at a time, when a batch came full (the server is
// busy): each reply's transmit timestamp is then a prediction of its departure (SendDelay), and
// a short horizon keeps its error small — at saturation on loopback the p99 of
// (departure - T3) is 3 us with 8, 19 us with 32, for 2-3 % more CPU than 32. A batch that is
// not full is answered one reply per send, each stamped just before it: exact as chronyd's,
// and its system call costs little next to the wake-up that brought it (+4 % CPU at 50 000/s).
constexpr std::size_t kSendChunk = 8;
constexpr std::size_t kMaxBatches = 8;     // per wake-up, then other sockets get their turn
constexpr std::size_t kRxBuffer = 2048;    // longer requests arrive truncated: malformed
constexpr std::size_t kPending = 4096;     // responses awaiting their kernel TX timestamp
constexpr auto kHousekeeping = std::chrono::milliseconds(50);  // stop flag, policy, upstream

std::array<std::byte, 16> random_key() {
    std::array<std::byte, 16> key{};
    randombytes_buf(key.data(), key.size());
    return key;
}
}  // namespace

struct Worker::Impl {
    // A response sent in interleaved mode, until the kernel says when it left.
    struct Pending {
        std::uint32_t id = 0;
        bool used = false;
        ntp::InterleaveTable::Client client;
        ntp::NtpTimestamp receive;
        std::int64_t correction_ns = 0;
    };
    struct Sock {
        UdpSocket socket;
        std::vector<Pending> pending;
    };

    Impl(std::vector<UdpSocket> sockets, const WorkerConfig& cfg, Shared& sh, ServerCounters& counters)
        : config(cfg), shared(sh), limiter(cfg.rate_limit, random_key()),
          table(cfg.interleave_capacity, random_key()),
          responder(cfg.responder, cfg.rate_limit.enabled ? &limiter : nullptr,
                    cfg.responder.interleaved ? &table : nullptr, counters),
          moderation(cfg.coalesce), counters_(counters) {
        for (auto& s : sockets) {
            bool stamps = s.tx_timestamping();
            socks.push_back(Sock{std::move(s), std::vector<Pending>(stamps ? kPending : 0)});
        }
        rx_storage.resize(kBatch * kRxBuffer);
        for (std::size_t i = 0; i < kBatch; ++i)
            rx[i].buffer = std::span<std::byte>(rx_storage).subspan(i * kRxBuffer, kRxBuffer);
    }

    // Takes what the main thread published, if anything changed. Cheap when nothing did.
    void refresh() {
        std::uint64_t g = shared.generation.load(std::memory_order_acquire);
        if (g == seen_generation) return;
        std::lock_guard lock(shared.mu);
        seen_generation = shared.generation.load(std::memory_order_relaxed);
        if (shared.policy) responder.set_policy(shared.policy);
        upstream = shared.upstream;
        nts_keys = shared.nts_keys;
    }

    ntp::ServerState state_now(UnixNanos now) const {
        std::int8_t precision = clock.precision_log2();
        if (upstream) {
            ntp::ServerState st = upstream->state_at(now, precision);
            if (st.leap != ntp::Leap::Unsynchronized || !config.stratum) return st;
        }
        if (config.stratum) return ntp::local_clock_state(*config.stratum, precision, now);
        return ntp::unsynchronised_state(precision);
    }

    // Reads and answers up to kMaxBatches batches; adds to `wake` what it read and clears
    // wake.drained when it stopped with more waiting. `newest`: the latest kernel receive time.
    void on_readable(Sock& s, Wakeup& wake, UnixNanos& newest) {
        std::size_t& total = wake.requests;
        for (std::size_t round = 0; round < kMaxBatches; ++round) {
            auto got = s.socket.receive_batch(rx);
            if (!got) {
                bad_log.warnx("%s: %s", s.socket.local_address().to_string().c_str(), got.error().what.c_str());
                return;
            }
            if (*got == 0) return;
            total += *got;
            refresh();
            std::int64_t mono = monotonic_now();
            ntp::ServerState state = state_now(clock.now());
            // Every request's client admitted (access, rate limit) before any work for it; then
            // the NTS requests among them checked all at once (their AES work side by side).
            std::size_t n_nts = 0;
            for (std::size_t i = 0; i < *got; ++i) {
                const RxSlot& r = rx[i];
                newest = std::max(newest, r.rx_time);
                auto data = r.truncated ? std::span<const std::byte>() : r.data();
                auto a = responder.admit(data, r.peer.bytes(), mono, out[i]);
                admitted[i].reset();
                if (a) admitted[i] = *a;
                else refusals[i] = a.error();
                nts_of[i] = kNotNts;
                if (a && nts_keys) {
                    nts_batch[n_nts].request = data;
                    nts_batch[n_nts].reply = out[i];
                    nts_of[i] = n_nts++;
                }
            }
            if (n_nts != 0) nts.check(*nts_keys, std::span(nts_batch).first(n_nts));
            const std::size_t group = *got == kBatch ? kSendChunk : 1;
            for (std::size_t start = 0; start < *got; start += group) {
                std::size_t end = std::min<std::size_t>(*got, start + group);
                std::int64_t build_started = monotonic_now();
                // One clock reading per group, not per reply: reply j is built about j reply
                // builds later (the cost SendDelay measures), and a reading costs as much as
                // a tenth of what ntp-serve itself spends per reply at saturation.
                const UnixNanos group_read = clock.now();
                std::size_t n_tx = 0, n_sealed = 0;
                for (std::size_t i = start; i < end; ++i) {
                    const RxSlot& r = rx[i];
                    const auto built_after = static_cast<std::int64_t>(i - start) * send_delay.per_reply_ns();
                    UnixNanos departs =
                        group_read + built_after + send_delay.until_departure(i - start, n_tx, end - start);
                    const nts::ServerExchange* x = nts_of[i] != kNotNts ? &nts_batch[nts_of[i]] : nullptr;
                    ntp::Outcome o;
                    if (!admitted[i]) {
                        o = refusals[i];
                    } else if (auto instead = x ? nts_instead(*x, *admitted[i]) : std::nullopt) {
                        o = *instead;
                    } else {
                        o = responder.answer(*admitted[i], r.peer.bytes(), r.rx_time, departs, state, out[i]);
                        if (x && x->verdict == nts::ServerExchange::Verdict::answered) sealed[n_sealed++] = {nts_of[i], n_tx};
                    }
                    if (o.length == 0) {
                        if (o.drop == ntp::Drop::Malformed && log::verbosity() >= 1)
                            bad_log.warnx("%s: malformed request (%zu octets)", r.peer.to_string().c_str(), r.length);
                        continue;
                    }
                    tx[n_tx] = TxSlot{std::span<const std::byte>(out[i]).first(o.length), r.peer, r.local,
                                      o.tx_timestamp};
                    outcomes[n_tx] = o;
                    ++n_tx;
                }
                if (n_sealed != 0) n_tx = seal_nts(n_sealed, n_tx);
                send_delay.observe_build(end - start, monotonic_now() - build_started);
                send(s, n_tx, state.correction_ns);
            }
            if (*got < kBatch) return;
        }
        wake.drained = false;
    }

    // What NTS (RFC 8915) made of an admitted request instead of its reply: an NTS NAK for a
    // cookie or authenticator that does not open, nothing for a malformed NTS request; nullopt
    // for a plain request and an NTS request to answer (its reply is written, then sealed).
    // (Kisses — RATE, DENY, RSTR — were decided at admission, and stay plain.)
    std::optional<ntp::Outcome> nts_instead(const nts::ServerExchange& x, const ntp::Header& request) {
        ntp::Outcome o;
        switch (x.verdict) {
        case nts::ServerExchange::Verdict::plain:
        case nts::ServerExchange::Verdict::answered: return std::nullopt;
        case nts::ServerExchange::Verdict::dropped:
            counters_.bump(Counter::dropped_nts);
            if (log::verbosity() >= 2) bad_log.warnx("NTS request dropped: %s", x.what.c_str());
            break;
        case nts::ServerExchange::Verdict::nak:
            ntp::write_kiss(request, ntp::Kiss::Ntsn, 0, x.reply.first<ntp::kHeaderSize>());
            if (auto n = nts::write_nak(x.uid, x.reply)) {
                o.length = *n;
                o.reply = ntp::Reply::KissNtsn;
                counters_.bump(Counter::nts_nak);
            }
            if (log::verbosity() >= 2) bad_log.warnx("NTS NAK: %s", x.what.c_str());
            break;
        }
        return o;
    }

    // The group's NTS responses sealed, now that their headers (with their transmit times) are
    // written; `sealed` says which tx slot each is. Returns the replies left of n_tx (one that
    // could not be sealed is not sent).
    std::size_t seal_nts(std::size_t n_sealed, std::size_t n_tx) {
        const std::size_t first = sealed[0].exchange, last = sealed[n_sealed - 1].exchange;
        nts.seal(std::span(nts_batch).subspan(first, last - first + 1));
        bool dropped = false;
        for (std::size_t k = 0; k < n_sealed; ++k) {
            const nts::ServerExchange& x = nts_batch[sealed[k].exchange];
            ntp::Outcome& o = outcomes[sealed[k].tx];
            if (x.verdict == nts::ServerExchange::Verdict::answered) {
                tx[sealed[k].tx].data = std::span<const std::byte>(x.reply).first(x.length);
                o.length = x.length;
                counters_.bump(Counter::nts);
                continue;
            }
            counters_.undo(Counter::answered);  // the responder counted it
            if (o.reply == ntp::Reply::Interleaved) counters_.undo(Counter::interleaved);
            counters_.bump(Counter::dropped_nts);
            o.length = 0;
            dropped = true;
        }
        if (!dropped) return n_tx;
        std::size_t kept = 0;
        for (std::size_t i = 0; i < n_tx; ++i) {
            if (outcomes[i].length == 0) continue;
            tx[kept] = tx[i];
            outcomes[kept++] = outcomes[i];
        }
        return kept;
    }

    void send(Sock& s, std::size_t n, std::int64_t correction_ns) {
        std::size_t done = 0;
        bool stamped = false;
        while (done < n) {
            std::uint32_t id = s.socket.next_tx_id();  // the next stamped datagram's
            std::int64_t started = monotonic_now();
            auto sent = s.socket.send_batch(std::span<const TxSlot>(tx).subspan(done, n - done));
            std::size_t k = sent ? *sent : 0;
            send_delay.observe_send(k, monotonic_now() - started);
            if (!s.pending.empty()) {
                for (std::size_t i = done; i < done + k; ++i) {
                    if (!tx[i].want_tx_timestamp) continue;
                    remember(s, id++, i, correction_ns);
                    stamped = true;
                }
            }
            done += k;
            if (!sent || k == 0) {  // this slot cannot go (or the buffer is full): skip it
                counters_.bump(Counter::send_errors);
                if (!sent)
                    bad_log.warnx("%s: %s", tx[done].peer.to_string().c_str(), sent.error().what.c_str());
                ++done;
            }
        }
        // A software stamp is normally taken before sendmmsg returns: read it now, so the error
        // queue (charged to the receive buffer) stays empty. Late ones wake ppoll (POLLERR).
        if (stamped) on_error_queue(s);
    }

    void remember(Sock& s, std::uint32_t id, std::size_t slot, std::int64_t correction_ns) {
        const ntp::Outcome& o = outcomes[slot];
        Pending& p = s.pending[id % s.pending.size()];
        p.id = id;
        p.used = true;
        p.client = o.client;
        p.receive = o.receive;
        p.correction_ns = correction_ns;
    }

    void on_error_queue(Sock& s) {
        if (s.pending.empty()) return;
        for (;;) {
            auto got = s.socket.read_tx_timestamps(tx_stamps);
            if (!got || *got == 0) return;
            for (std::size_t i = 0; i < *got; ++i) {
                Pending& p = s.pending[tx_stamps[i].id % s.pending.size()];
                if (!p.used || p.id != tx_stamps[i].id) continue;
                p.used = false;
                auto when = ntp::from_unix_nanos(tx_stamps[i].tx_time + p.correction_ns);
                if (table.update_transmit(p.client, p.receive, when))
                    counters_.bump(Counter::tx_timestamps);
            }
            if (*got < tx_stamps.size()) return;
        }
    }

    WorkerConfig config;
    Shared& shared;
    SystemClock clock;
    RateLimiter limiter;
    ntp::InterleaveTable table;
    ntp::Responder responder;
    WakeupModeration moderation;
    SendDelay send_delay;
    ServerCounters& counters_;
    std::optional<UpstreamReference> upstream;
    std::shared_ptr<const nts::CookieKeys> nts_keys;
    nts::NtsServer nts;
    std::array<std::optional<ntp::Header>, kBatch> admitted;  // each request's, if its client was admitted
    std::array<ntp::Outcome, kBatch> refusals;                 // else how it was refused
    static constexpr std::size_t kNotNts = kBatch;
    std::array<std::size_t, kBatch> nts_of{};  // each request's exchange in nts_batch, or kNotNts
    std::array<nts::ServerExchange, kBatch> nts_batch;
    struct Sealed {
        std::size_t exchange, tx;  // in nts_batch, in tx and outcomes
    };
    std::array<Sealed, kSendChunk> sealed{};
    std::uint64_t seen_generation = ~std::uint64_t{0};
    std::vector<Sock> socks;
    std::vector<std::byte> rx_storage;
    std::array<RxSlot, kBatch> rx{};
    std::array<std::array<std::byte, kRxBuffer>, kBatch> out{};  // NTS responses are as long as requests
    std::array<TxSlot, kBatch> tx{};
    std::array<ntp::Outcome, kBatch> outcomes{};
    std::array<TxTimestamp, kBatch> tx_stamps{};
    log::RateLimited bad_log;
};

Worker::Worker(std::vector<UdpSocket> sockets, const WorkerConfig& config, Shared& shared)
    : impl_(std::make_unique<Impl>(std::move(sockets), config, shared, counters_)) {}

Worker::~Worker() = default;

void Worker::run() {
    Impl& w = *impl_;
    w.refresh();
    std::vector<PollItem> items;
    for (const auto& s : w.socks) items.push_back(PollItem{.fd = s.socket.fd()});
    // Housekeeping (a stop request, a new policy or upstream) at least every kHousekeeping,
    // even when no packet comes; under load after every wake-up.
    while (!w.shared.stop.load(std::memory_order_acquire)) {
        Wakeup wake;
        UnixNanos newest = 0;
        if (auto linger = w.moderation.next_wait()) {
            sleep_for(*linger);  // requests gather in the socket buffers meanwhile
            UnixNanos woke = w.clock.now();
            for (auto& s : w.socks) w.on_readable(s, wake, newest);
            if (newest != 0) wake.newest_age_ns = woke - newest;
        } else {
            auto ready = wait_any(items, kHousekeeping);
            if (!ready) log::fatalx(ready.error().exit_code, "%s", ready.error().what.c_str());
            for (std::size_t i = 0; i < items.size() && *ready != 0; ++i) {
                if (items[i].error) w.on_error_queue(w.socks[i]);
                if (items[i].readable) w.on_readable(w.socks[i], wake, newest);
            }
        }
        if (wake.requests != 0) w.counters_.bump(Counter::wakeups);
        wake.mono_ns = monotonic_now();
        w.moderation.after_wakeup(wake);
        w.refresh();
    }
}

}  // namespace timepipe::serve
