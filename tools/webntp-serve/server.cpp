#include "tools/webntp-serve/server.hpp"

#include <array>

#include "libtime/base/log.hpp"
#include "libtime/sys/clock.hpp"

namespace webntp_serve {

using namespace timepipe;

namespace {
constexpr std::chrono::milliseconds kHousekeeping{250};
constexpr std::size_t kMaxPending = 256 * 1024;  // unsent output: a client that never reads goes
constexpr std::int64_t kTlsHandshakeNs = 10 * kNanosPerSecond;
}  // namespace

std::string Counters::line() const {
    const auto& s = session;
    auto n = [](std::uint64_t v) { return std::to_string(v); };
    return "connections=" + n(connections) + " refused=" + n(refused) + " tls_failures=" + n(tls_failures) +
           " json=" + n(s.http_json) + " head=" + n(s.http_head) + " ws_upgrades=" + n(s.ws_upgrades) +
           " ws_messages=" + n(s.ws_messages) + " bad_requests=" + n(s.bad_requests) +
           " headers_too_large=" + n(s.headers_too_large) + " rate_limited=" + n(s.rate_limited) +
           " forbidden_origin=" + n(s.forbidden_origin) + " ws_closed_error=" + n(s.ws_closed_error) +
           " timeouts=" + n(s.timeouts) + " unsynchronised=" + n(s.unsynchronised);
}

struct Server::Conn {
    TcpStream stream;
    std::optional<FdWatcher> watcher;
    std::optional<TlsSession> tls;
    http::WebNtpSession session;
    std::int64_t accepted = 0;
    bool handshake_done = false;
    bool closing = false;
    std::vector<std::byte> pending;
};

Server::Server(EventLoop& loop, const http::SessionConfig& config, std::size_t max_connections,
               std::optional<TlsContext> tls, http::WebNtpSession::TimeSource time)
    : loop_(loop), config_(config), max_connections_(max_connections), tls_(std::move(tls)), time_(std::move(time)) {}

Server::~Server() = default;

Result<void> Server::start(std::vector<TcpListener> listeners) {
    listeners_ = std::move(listeners);
    for (std::size_t i = 0; i < listeners_.size(); ++i) {
        auto w = FdWatcher::create(loop_, listeners_[i].fd(), [this, i](FdEvents) { on_accept(i); });
        if (!w) return Unexpected<Error>{w.error()};
        watchers_.push_back(std::move(*w));
    }
    auto t = Timer::create(loop_, [this] { housekeeping(); });
    if (!t) return Unexpected<Error>{t.error()};
    housekeeping_.emplace(std::move(*t));
    housekeeping_->start(kHousekeeping, kHousekeeping);
    return {};
}

void Server::reload_certificate() {
    if (!tls_) return log::info("SIGHUP: no certificate to reload (plain HTTP)");
    if (auto r = tls_->reload(); !r) log::warnx("SIGHUP: %s (the old certificate stays)", r.error().what.c_str());
    else log::info("SIGHUP: certificate and key reloaded");
}

Counters Server::counters() const {
    Counters c = counters_;
    for (const auto& [id, conn] : conns_) c.session += conn->session.counters();
    return c;
}

void Server::on_accept(std::size_t i) {
    for (int k = 0; k < 64; ++k) {
        auto c = listeners_[i].accept();
        if (!c) {
            log::warnx("%s: %s", listeners_[i].local_address().to_string().c_str(), c.error().what.c_str());
            return;
        }
        if (!*c) return;
        if (conns_.size() >= max_connections_) {
            ++counters_.refused;  // closed as it goes out of scope
            if (log::verbosity() >= 1)
                log::info("%s: refused: %zu connections already", (*c)->peer().to_string().c_str(), conns_.size());
            continue;
        }
        std::optional<TlsSession> tls;
        if (tls_) {
            auto s = TlsSession::server(*tls_);
            if (!s) {
                log::warnx("TLS: %s", s.error().what.c_str());
                continue;
            }
            tls.emplace(std::move(*s));
        }
        ++counters_.connections;
        const std::uint64_t id = next_id_++;
        const std::int64_t now = monotonic_now();
        auto conn = std::unique_ptr<Conn>(
            new Conn{std::move(**c), std::nullopt, std::move(tls), http::WebNtpSession(config_, time_, now), now, !tls_, false, {}});
        auto w = FdWatcher::create(loop_, conn->stream.fd(), [this, id](FdEvents e) { on_conn(id, e); });
        if (!w) {
            log::warnx("watch: %s", w.error().what.c_str());
            continue;
        }
        conn->watcher.emplace(std::move(*w));
        conns_.emplace(id, std::move(conn));
    }
}

void Server::drop(std::uint64_t id, const std::string& why) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (log::verbosity() >= 1) log::info("%s: %s", it->second->stream.peer().to_string().c_str(), why.c_str());
    counters_.session += it->second->session.counters();
    conns_.erase(it);
}

void Server::on_conn(std::uint64_t id, FdEvents e) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (e.readable) {
        std::array<std::byte, 16384> buf;
        for (int round = 0; round < 16; ++round) {
            auto r = c.stream.read_some(buf);
            if (!r || r->eof) {
                if (c.closing) return drop(id, c.session.why().empty() ? "done" : c.session.why());
                return drop(id, "closed by the client");
            }
            if (r->would_block) break;
            if (c.closing) continue;  // after our last answer: read and dropped
            auto in = std::span(buf).first(r->bytes);
            if (!c.tls) {
                on_plain(id, c, in);
            } else {
                c.tls->feed(in);
                if (!c.handshake_done) {
                    auto h = c.tls->handshake();
                    if (!h) {
                        ++counters_.tls_failures;
                        flush(id, c);  // the alert
                        return drop(id, "TLS: " + h.error().what);
                    }
                    if (h && !*h) continue;
                    c.handshake_done = true;
                }
                for (;;) {
                    std::array<std::byte, 16384> plain;
                    auto n = c.tls->read(plain);
                    if (!n) {
                        ++counters_.tls_failures;
                        return drop(id, "TLS: " + n.error().what);
                    }
                    if (!*n) {
                        c.session.end_of_input();
                        break;
                    }
                    if (**n == 0) break;
                    on_plain(id, c, std::span(plain).first(**n));
                    if (c.session.done()) break;
                }
            }
            if (conns_.find(id) == conns_.end()) return;
            if (c.session.done()) c.closing = true;
        }
    }
    flush(id, c);
}

void Server::on_plain(std::uint64_t, Conn& c, std::span<const std::byte> plain) {
    c.session.feed(plain, monotonic_now());
}

void Server::flush(std::uint64_t id, Conn& c) {
    auto out = c.session.take_output();
    if (c.tls) {
        if (!out.empty())
            if (auto w = c.tls->write(out); !w) return drop(id, "TLS: " + w.error().what);
        if (c.session.done() && !c.closing) c.tls->close();
        out = c.tls->take_output();
    }
    c.pending.insert(c.pending.end(), out.begin(), out.end());
    if (c.session.done()) c.closing = true;
    if (c.pending.size() > kMaxPending) return drop(id, "not reading its answers");
    while (!c.pending.empty()) {
        auto w = c.stream.write_some(c.pending);
        if (!w || w->eof) return drop(id, "connection reset by the client");
        c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(w->bytes));
        if (w->would_block || w->bytes == 0) break;
    }
    if (c.watcher) (void)c.watcher->watch_writable(!c.pending.empty());
    if (c.closing && c.pending.empty()) {
        c.stream.finish();
        drop(id, c.session.why().empty() ? "done" : c.session.why());
    }
}

void Server::housekeeping() {
    const std::int64_t now = monotonic_now();
    std::vector<std::uint64_t> flush_ids, drop_ids;
    for (auto& [id, c] : conns_) {
        if (!c->handshake_done && now - c->accepted > kTlsHandshakeNs) {
            ++counters_.session.timeouts;
            drop_ids.push_back(id);
        } else if (c->session.expired(now)) {
            drop_ids.push_back(id);
        } else if (c->session.done()) {
            flush_ids.push_back(id);  // a 408 or a WebSocket close to send
        } else if (c->session.websocket()) {
            flush_ids.push_back(id);
        }
    }
    for (auto id : drop_ids) drop(id, "timed out");
    for (auto id : flush_ids)
        if (auto it = conns_.find(id); it != conns_.end()) flush(id, *it->second);
}

}  // namespace webntp_serve
