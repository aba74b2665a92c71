// The I/O loop. Requests are read into a fixed set of slots (one per --batch-size); the batch
// is answered when it is full or --batch-delay after its first request, whichever comes first,
// so under load batches fill at once and a lone request waits at most the delay. Everything
// runs on the event loop's thread, so a new online key always takes over between two batches.
//
// TCP (RFC 10049 §5): the same ROUGHTIM packets back to back on a stream, answered in the
// batch they fall into. A stream that stops being framed, frames more than kMaxPacket octets, or
// carries a request the responder drops (short, malformed, another SRV...) is read no further:
// every valid request before it is answered, then the connection is ended in order (FIN, not a
// reset) and, with -v, the reason logged. One idle for kTcpIdle, or one that does not read its
// answers (a full send buffer), is closed; connections beyond kMaxConnections are closed at once.
#include "tools/roughtime-serve/server.hpp"

#include <algorithm>
#include <cmath>
#include <array>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>

#include "libtime/base/log.hpp"
#include "libtime/ntp/timestamp.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/online_key.hpp"
#include "libtime/roughtime/responder.hpp"
#include "libtime/sys/clock.hpp"

namespace timepipe::rtserve {

namespace {
constexpr std::size_t kMaxPacket = 2048;       // longer requests are dropped (UDP) or end the stream (TCP)
constexpr std::size_t kMaxRounds = 8;          // recvmmsg calls per wake-up, then other sockets
constexpr std::size_t kMaxConnections = 512;
constexpr std::int64_t kTcpIdle = 10 * kNanosPerSecond;
constexpr auto kHousekeeping = std::chrono::seconds(1);
}  // namespace

namespace {
template <class F>
void each_counter(const Counters& c, F&& add) {
    add("received", c.received);
    add("answered", c.answered);
    add("dropped_short", c.dropped_short);
    add("dropped_malformed", c.dropped_malformed);
    add("dropped_version", c.dropped_version);
    add("dropped_srv", c.dropped_srv);
    add("dropped_too_large", c.dropped_too_large);
    add("dropped_oversized", c.dropped_oversized);
    add("dropped_unsynchronised", c.dropped_unsynchronised);
    add("send_errors", c.send_errors);
    add("tcp_connections", c.tcp_connections);
    add("tcp_refused", c.tcp_refused);
    add("batches", c.batches);
    add("online_keys", c.online_keys);
    add("signatures", c.signatures);
    add("answered_rfc", c.answered_rfc);
    add("answered_draft12", c.answered_draft12);
    add("answered_draft11", c.answered_draft11);
    add("answered_draft08", c.answered_draft08);
    add("answered_google", c.answered_google);
}
}  // namespace

std::map<std::string, std::uint64_t> Counters::map() const {
    std::map<std::string, std::uint64_t> m;
    each_counter(*this, [&](const char* name, std::uint64_t v) { m[name] = v; });
    return m;
}

std::string Counters::line() const {
    std::string s;
    each_counter(*this, [&](const char* name, std::uint64_t v) {
        if (!s.empty()) s += ' ';
        s += name;
        s += '=';
        s += std::to_string(v);
    });
    return s;
}

struct Server::Impl {
    struct Conn {
        TcpStream stream;
        std::optional<FdWatcher> watcher;
        std::vector<std::byte> in;
        std::int64_t last_active = 0;
        std::size_t in_batch = 0;          // its requests in the pending batch, not yet answered
        std::optional<std::string> ending;  // why it is read no further; ended once in_batch is 0
    };
    // Where a slot's request came from, to send its answer back.
    struct Origin {
        bool tcp = false;
        bool skip = false;         // truncated: not a request we read whole
        std::size_t socket = 0;    // UDP: index into udp
        std::uint64_t conn = 0;    // TCP: connection id
    };

    Impl(EventLoop& lp, crypto::Ed25519KeyPair lt, const ServerConfig& cfg, std::vector<UdpSocket> u,
         std::vector<TcpListener> t, const UpstreamReference* up)
        : loop(lp), long_term(std::move(lt)), config(cfg), schedule(cfg.online_validity_ns), udp(std::move(u)),
          listeners(std::move(t)), upstream(up), storage(cfg.batch_size * kMaxPacket), rx(cfg.batch_size),
          origin(cfg.batch_size) {
        for (std::size_t i = 0; i < cfg.batch_size; ++i)
            rx[i].buffer = std::span<std::byte>(storage).subspan(i * kMaxPacket, kMaxPacket);
        for (const auto& v : roughtime::all_versions())
            if (cfg.google || v.version != roughtime::Version::Google) versions.push_back(v.version);
        requests.reserve(cfg.batch_size);
        request_slot.reserve(cfg.batch_size);
        tx.reserve(cfg.batch_size);
    }

    template <class F>
    Timer make_timer(F&& fn) {
        auto t = Timer::create(loop, std::forward<F>(fn));
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        return std::move(*t);
    }

    void start() {
        batch_timer.emplace(make_timer([this] { flush(); }));
        rotate_timer.emplace(make_timer([this] { rotate_if_due(); }));
        idle_timer.emplace(make_timer([this] { close_idle(); }));
        idle_timer->start(kHousekeeping, kHousekeeping);
        for (std::size_t i = 0; i < udp.size(); ++i) watch(udp[i].fd(), [this, i](FdEvents) { on_udp(i); });
        for (std::size_t i = 0; i < listeners.size(); ++i)
            watch(listeners[i].fd(), [this, i](FdEvents) { on_accept(i); });
        rotate(served_now());
    }

    void watch(int fd, std::function<void(FdEvents)> fn) {
        auto w = FdWatcher::create(loop, fd, std::move(fn));
        if (!w) log::fatalx(w.error().exit_code, "watch: %s", w.error().what.c_str());
        watchers.push_back(std::move(*w));
    }

    // --- time, radius, synchronisation -------------------------------------------------------
    struct Now {
        bool synchronised = true;
        const char* why = "";
        UnixNanos served = 0;
        std::int64_t radius_ns = 0;
    };

    Now now() const {
        Now n;
        const UnixNanos local = clock.now();
        std::int64_t correction = 0;
        n.radius_ns = config.radius_ns;
        if (upstream) {
            const UpstreamTime up = upstream->at(local);
            if (!up.synchronised) {
                n.synchronised = false;
                n.why = upstream->ended()                                        ? "the upstream stream ended"
                        : upstream->report().status == UpstreamStatus::waiting ? "no upstream sample yet"
                                                                               : "the upstream is stale or unsynchronised";
            }
            correction = up.correction_ns;
            // Root distance in seconds (RFC 5905 §11.2.1 without the peer terms, which at() adds
            // in), rounded up to the nanosecond: no 16.16 quantisation, no 65536 s cap.
            const double distance_ns = std::ceil(up.root_distance() * 1e9);
            n.radius_ns = std::max(n.radius_ns, distance_ns < 9e18 ? static_cast<std::int64_t>(distance_ns) : std::int64_t{9'000'000'000'000'000'000});
            // Roughtime timestamps cannot name a leap second: widen RADI while one is announced.
            if (up.leap == ntp::Leap::InsertSecond || up.leap == ntp::Leap::DeleteSecond) n.radius_ns += kNanosPerSecond;
        }
        n.served = local + correction + config.offset_ns;
        return n;
    }
    UnixNanos served_now() const { return now().served; }

    // --- online keys ---------------------------------------------------------------------------
    void rotate(UnixNanos served) {
        window = schedule.window_at(served);
        crypto::Ed25519KeyPair online = crypto::ed25519_generate();
        auto dele = roughtime::make_delegation(long_term, online.public_key, window.mint, window.maxt);
        const std::string pk = roughtime::public_key_base64(online.public_key);
        responder.emplace(std::move(dele), std::move(online), versions);  // the old key is wiped here
        ++counters.online_keys;
        log::info("online key %s valid for %.0f s", pk.c_str(), nanos_to_seconds(window.maxt - window.mint));
        arm_rotation(served);
    }

    void arm_rotation(UnixNanos served) {
        const std::int64_t wait = std::max<std::int64_t>(schedule.renew_at(window) - served, 0);
        rotate_timer->start(std::chrono::nanoseconds(wait));
    }

    void rotate_if_due() {
        const UnixNanos served = served_now();
        if (schedule.usable(window, served)) arm_rotation(served);
        else rotate(served);
    }

    // --- reading -----------------------------------------------------------------------------
    void on_udp(std::size_t i) {
        for (std::size_t round = 0; round < kMaxRounds; ++round) {
            if (pending == config.batch_size) flush();
            const std::size_t room = config.batch_size - pending;
            auto got = udp[i].receive_batch(std::span<RxSlot>(rx).subspan(pending, room));
            if (!got) {
                bad_log.warnx("%s: %s", udp[i].local_address().to_string().c_str(), got.error().what.c_str());
                break;
            }
            for (std::size_t k = pending; k < pending + *got; ++k) {
                ++counters.received;
                origin[k] = Origin{.tcp = false, .skip = rx[k].truncated, .socket = i};
                if (rx[k].truncated) ++counters.dropped_oversized;
            }
            pending += *got;
            if (*got < room) break;
        }
        schedule_flush();
    }

    void on_accept(std::size_t i) {
        for (int k = 0; k < 16; ++k) {
            auto c = listeners[i].accept();
            if (!c) {
                bad_log.warnx("%s: %s", listeners[i].local_address().to_string().c_str(), c.error().what.c_str());
                return;
            }
            if (!*c) return;
            if (conns.size() >= kMaxConnections) {
                ++counters.tcp_refused;
                continue;  // closed as it goes out of scope
            }
            ++counters.tcp_connections;
            const std::uint64_t id = next_conn++;
            auto conn = std::make_unique<Conn>(Conn{std::move(**c), std::nullopt, {}, monotonic_now(), 0, std::nullopt});
            auto w = FdWatcher::create(loop, conn->stream.fd(), [this, id](FdEvents) { on_conn(id); });
            if (!w) {
                bad_log.warnx("tcp: %s", w.error().what.c_str());
                continue;
            }
            conn->watcher.emplace(std::move(*w));
            conns.emplace(id, std::move(conn));
        }
    }

    void on_conn(std::uint64_t id) {
        auto it = conns.find(id);
        if (it == conns.end()) return;
        Conn& c = *it->second;
        std::array<std::byte, kMaxPacket> buf;
        auto r = c.stream.read_some(buf);
        if (!r || r->eof) return close_conn(id);
        if (r->would_block || c.ending) return;
        c.in.insert(c.in.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(r->bytes));
        c.last_active = monotonic_now();
        take_packets(id);
        schedule_flush();
    }

    // Moves every whole packet in the connection's buffer into the batch; at the first octets
    // that are not a frame it stops reading and ends the connection once its batch is answered.
    void take_packets(std::uint64_t id) {
        for (;;) {
            auto it = conns.find(id);
            if (it == conns.end()) return;  // closed by a flush
            Conn& c = *it->second;
            if (c.ending) return;
            auto total = roughtime::framed_length(c.in, kMaxPacket);
            if (!total) {
                if (total.error() == roughtime::FrameError::Incomplete) return;
                if (total.error() == roughtime::FrameError::BadFrame) ++counters.dropped_malformed;
                else ++counters.dropped_oversized;
                return end_conn(id, std::string(roughtime::to_string(total.error())));
            }
            if (c.in.size() < *total) return;
            if (pending == config.batch_size) {
                flush();
                continue;  // look the connection up again
            }
            std::copy_n(c.in.begin(), *total, rx[pending].buffer.begin());
            rx[pending].length = *total;
            rx[pending].truncated = false;
            origin[pending] = Origin{.tcp = true, .skip = false, .conn = id};
            ++pending;
            ++c.in_batch;
            ++counters.received;
            c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(*total));
        }
    }

    // Reads no more from the connection; ends it now, or once its requests in the batch are
    // answered. The first reason counts.
    void end_conn(std::uint64_t id, std::string why) {
        auto it = conns.find(id);
        if (it == conns.end()) return;
        Conn& c = *it->second;
        if (!c.ending) c.ending = std::move(why);
        if (c.watcher) c.watcher->stop();
        if (c.in_batch > 0) return;
        if (log::verbosity() >= 1)
            bad_log.warnx("%s: TCP connection ended: %s", c.stream.peer().to_string().c_str(), c.ending->c_str());
        c.stream.finish();
        close_conn(id);
    }

    void close_conn(std::uint64_t id) { conns.erase(id); }  // watcher and socket close with it

    void close_idle() {
        const std::int64_t mono = monotonic_now();
        for (auto it = conns.begin(); it != conns.end();)
            it = mono - it->second->last_active > kTcpIdle ? conns.erase(it) : std::next(it);
    }

    void schedule_flush() {
        if (pending == 0) return;
        if (config.batch_delay_ns == 0 || pending == config.batch_size) return flush();
        if (!batch_timer->active()) batch_timer->start(std::chrono::nanoseconds(config.batch_delay_ns));
    }

    // --- answering ---------------------------------------------------------------------------
    void flush() {
        batch_timer->stop();
        if (pending == 0) return;
        const std::size_t n = std::exchange(pending, 0);
        batch_conns.clear();
        for (std::size_t k = 0; k < n; ++k) {
            if (!origin[k].tcp) continue;
            if (auto it = conns.find(origin[k].conn); it != conns.end()) --it->second->in_batch;
            batch_conns.push_back(origin[k].conn);
        }
        const Now t = now();
        requests.clear();
        request_slot.clear();
        for (std::size_t k = 0; k < n; ++k) {
            if (origin[k].skip) continue;
            requests.push_back(rx[k].data());
            request_slot.push_back(k);
        }
        if (!t.synchronised) {
            counters.dropped_unsynchronised += requests.size();
            if (!unsync_logged && !requests.empty()) log::warnx("not answering: %s", t.why);
            unsync_logged = unsync_logged || !requests.empty();
            end_answered();
            return;
        }
        if (unsync_logged) {
            log::warnx("answering again: the upstream is synchronised");
            unsync_logged = false;
        }
        if (requests.empty()) return;
        if (!schedule.usable(window, t.served)) rotate(t.served);
        auto replies = responder->respond(requests, t.served, t.radius_ns);
        ++counters.batches;
        count_signatures(replies);
        for (std::size_t r = 0; r < replies.size(); ++r) {
            const roughtime::Reply& rep = replies[r];
            const Origin& o = origin[request_slot[r]];
            if (rep.dropped) count_drop(*rep.dropped, request_slot[r]);
            if (!o.tcp) continue;
            if (!rep.dropped) {
                send_tcp(o.conn, rep);
            } else if (auto it = conns.find(o.conn); it != conns.end() && !it->second->ending) {
                it->second->ending = std::string(roughtime::to_string(*rep.dropped));  // ended below
                if (it->second->watcher) it->second->watcher->stop();
            }
        }
        for (std::size_t s = 0; s < udp.size(); ++s) send_udp(s, replies);
        end_answered();
    }

    // Ends the connections of the batch just answered that were waiting for it to end.
    void end_answered() {
        for (std::uint64_t id : batch_conns)
            if (auto it = conns.find(id); it != conns.end() && it->second->ending) end_conn(id, *it->second->ending);
        batch_conns.clear();
    }

    void count_drop(roughtime::DropReason why, std::size_t slot) {
        using roughtime::DropReason;
        switch (why) {
        case DropReason::TooShort: ++counters.dropped_short; break;
        case DropReason::Malformed: ++counters.dropped_malformed; break;
        case DropReason::UnknownVersion: ++counters.dropped_version; break;
        case DropReason::SrvMismatch: ++counters.dropped_srv; break;
        case DropReason::TooLarge: ++counters.dropped_too_large; break;
        }
        if (log::verbosity() >= 1 && !origin[slot].tcp)
            bad_log.warnx("%s: %s (%zu octets)", rx[slot].peer.to_string().c_str(),
                          std::string(roughtime::to_string(why)).c_str(), rx[slot].length);
    }

    // The responder signs once per version present in a batch (responses dropped as too large
    // after signing aside: they carry no version to count by).
    void count_signatures(std::span<const roughtime::Reply> replies) {
        std::array<roughtime::Version, 5> seen{};
        std::size_t n = 0;
        for (const auto& r : replies) {
            if (r.dropped || std::find(seen.begin(), seen.begin() + n, r.version) != seen.begin() + n) continue;
            if (n < seen.size()) seen[n++] = r.version;
        }
        counters.signatures += n;
    }

    void count_answered(roughtime::Version v) {
        ++counters.answered;
        switch (v) {
        case roughtime::Version::Rfc: ++counters.answered_rfc; break;
        case roughtime::Version::Draft12: ++counters.answered_draft12; break;
        case roughtime::Version::Draft11: ++counters.answered_draft11; break;
        case roughtime::Version::Draft08: ++counters.answered_draft08; break;
        case roughtime::Version::Google: ++counters.answered_google; break;
        }
    }

    void send_tcp(std::uint64_t id, const roughtime::Reply& rep) {
        auto it = conns.find(id);
        if (it == conns.end()) return;  // gone before its answer
        auto w = it->second->stream.write_some(rep.bytes);
        if (w && w->bytes == rep.bytes.size()) {
            count_answered(rep.version);
            return;
        }
        ++counters.send_errors;
        close_conn(id);  // a client that does not read its answers, or a broken connection
    }

    void send_udp(std::size_t s, std::span<const roughtime::Reply> replies) {
        tx.clear();
        tx_versions.clear();
        for (std::size_t r = 0; r < replies.size(); ++r) {
            const std::size_t k = request_slot[r];
            if (replies[r].dropped || origin[k].tcp || origin[k].socket != s) continue;
            tx.push_back(TxSlot{.data = replies[r].bytes, .peer = rx[k].peer, .source = rx[k].local});
            tx_versions.push_back(replies[r].version);
        }
        std::size_t done = 0;
        while (done < tx.size()) {
            auto sent = udp[s].send_batch(std::span<const TxSlot>(tx).subspan(done));
            const std::size_t k = sent ? *sent : 0;
            for (std::size_t i = done; i < done + k; ++i) count_answered(tx_versions[i]);
            done += k;
            if (!sent || k == 0) {  // this one cannot go (or the buffer is full): skip it
                ++counters.send_errors;
                if (!sent) bad_log.warnx("%s: %s", tx[done].peer.to_string().c_str(), sent.error().what.c_str());
                ++done;
            }
        }
    }

    EventLoop& loop;
    crypto::Ed25519KeyPair long_term;
    ServerConfig config;
    roughtime::RotationSchedule schedule;
    roughtime::OnlineKeyWindow window;
    std::vector<roughtime::Version> versions;
    std::optional<roughtime::Responder> responder;
    std::vector<UdpSocket> udp;
    std::vector<TcpListener> listeners;
    const UpstreamReference* upstream;
    SystemClock clock;
    Counters counters;
    bool unsync_logged = false;

    std::vector<std::byte> storage;  // batch_size slots of kMaxPacket
    std::vector<RxSlot> rx;
    std::vector<Origin> origin;
    std::size_t pending = 0;
    std::vector<std::span<const std::byte>> requests;
    std::vector<std::size_t> request_slot;
    std::vector<TxSlot> tx;
    std::vector<roughtime::Version> tx_versions;  // tx[i]'s version, for the per-version counters
    std::vector<std::uint64_t> batch_conns;  // TCP connections with a request in the batch being answered

    std::map<std::uint64_t, std::unique_ptr<Conn>> conns;
    std::uint64_t next_conn = 0;
    std::vector<FdWatcher> watchers;
    std::optional<Timer> batch_timer, rotate_timer, idle_timer;
    log::RateLimited bad_log;
};

Server::Server(EventLoop& loop, crypto::Ed25519KeyPair long_term, const ServerConfig& config,
               std::vector<UdpSocket> udp, std::vector<TcpListener> tcp, const UpstreamReference* upstream)
    : impl_(std::make_unique<Impl>(loop, std::move(long_term), config, std::move(udp), std::move(tcp), upstream)) {}

Server::~Server() = default;

void Server::start() { impl_->start(); }

const Counters& Server::counters() const { return impl_->counters; }

}  // namespace timepipe::rtserve
