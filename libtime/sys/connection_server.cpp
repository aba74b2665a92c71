#include "libtime/sys/connection_server.hpp"

#include <array>
#include <chrono>

#include "libtime/base/log.hpp"
#include "libtime/sys/clock.hpp"

namespace timepipe {

namespace {
constexpr std::chrono::milliseconds kHousekeeping{250};
}  // namespace

struct ConnectionServer::Conn {
    TcpStream stream;
    std::optional<FdWatcher> watcher;
    std::optional<TlsSession> tls;
    std::unique_ptr<ConnectionSession> session;
    std::int64_t accepted = 0;
    bool handshake_done = false;
    bool closing = false;
    std::vector<std::byte> pending;
};

ConnectionServer::ConnectionServer(EventLoop& loop, ConnectionLimits limits, std::optional<TlsContext> tls, Factory factory)
    : loop_(loop), limits_(limits), tls_(std::move(tls)), factory_(std::move(factory)) {}

ConnectionServer::~ConnectionServer() = default;

Result<void> ConnectionServer::start(std::vector<TcpListener> listeners) {
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

Result<void> ConnectionServer::reload_certificate() {
    if (!tls_) return {};
    return tls_->reload();
}

void ConnectionServer::for_each(const std::function<void(const ConnectionSession&)>& f) const {
    for (const auto& [id, conn] : conns_) f(*conn->session);
}

void ConnectionServer::on_accept(std::size_t i) {
    for (int k = 0; k < 64; ++k) {
        auto c = listeners_[i].accept();
        if (!c) {
            log::warnx("%s: %s", listeners_[i].local_address().to_string().c_str(), c.error().what.c_str());
            return;
        }
        if (!*c) return;
        if (conns_.size() >= limits_.max_connections) {
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
        auto conn = std::unique_ptr<Conn>(new Conn{std::move(**c), std::nullopt, std::move(tls), factory_(now), now, !tls_, false, {}});
        auto w = FdWatcher::create(loop_, conn->stream.fd(), [this, id](FdEvents e) { on_conn(id, e); });
        if (!w) {
            log::warnx("watch: %s", w.error().what.c_str());
            continue;
        }
        conn->watcher.emplace(std::move(*w));
        conns_.emplace(id, std::move(conn));
    }
}

void ConnectionServer::drop(std::uint64_t id, const std::string& why) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    if (log::verbosity() >= 1) log::info("%s: %s", it->second->stream.peer().to_string().c_str(), why.c_str());
    if (on_close_) on_close_(*it->second->session);
    conns_.erase(it);
}

void ConnectionServer::on_conn(std::uint64_t id, FdEvents e) {
    auto it = conns_.find(id);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    ConnectionSession& s = *c.session;
    if (e.readable) {
        std::array<std::byte, 16384> buf;
        for (int round = 0; round < 16; ++round) {
            auto r = c.stream.read_some(buf);
            if (!r || r->eof) {
                if (c.closing) {
                    const std::string why = s.why();
                    return drop(id, why.empty() ? "done" : why);
                }
                return drop(id, "closed by the client");
            }
            if (r->would_block) break;
            if (c.closing) continue;  // after our last answer: read and dropped
            auto in = std::span(buf).first(r->bytes);
            if (!c.tls) {
                s.feed(in, monotonic_now());
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
                        s.end_of_input();
                        break;
                    }
                    if (**n == 0) break;
                    s.feed(std::span(plain).first(**n), monotonic_now());
                    if (s.done()) break;
                }
            }
            if (conns_.find(id) == conns_.end()) return;
            if (s.done()) c.closing = true;
        }
    }
    flush(id, c);
}

void ConnectionServer::flush(std::uint64_t id, Conn& c) {
    ConnectionSession& s = *c.session;
    auto out = s.take_output();
    if (c.tls) {
        if (!out.empty())
            if (auto w = c.tls->write(out); !w) return drop(id, "TLS: " + w.error().what);
        if (s.done() && !c.closing) c.tls->close();
        out = c.tls->take_output();
    }
    c.pending.insert(c.pending.end(), out.begin(), out.end());
    if (s.done()) c.closing = true;
    if (c.pending.size() > limits_.max_pending_bytes) return drop(id, "not reading its answers");
    while (!c.pending.empty()) {
        auto w = c.stream.write_some(c.pending);
        if (!w || w->eof) return drop(id, "connection reset by the client");
        c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(w->bytes));
        if (w->would_block || w->bytes == 0) break;
    }
    if (c.watcher) (void)c.watcher->watch_writable(!c.pending.empty());
    if (c.closing && c.pending.empty()) {
        c.stream.finish();
        const std::string why = s.why();
        drop(id, why.empty() ? "done" : why);
    }
}

void ConnectionServer::housekeeping() {
    const std::int64_t now = monotonic_now();
    std::vector<std::uint64_t> flush_ids, drop_ids;
    for (auto& [id, c] : conns_) {
        if (!c->handshake_done && now - c->accepted > limits_.tls_handshake_ns) {
            ++counters_.handshake_timeouts;
            drop_ids.push_back(id);
        } else if (c->session->expired(now)) {
            drop_ids.push_back(id);
        } else if (c->session->done() || c->session->has_output()) {
            flush_ids.push_back(id);  // a 408 or a WebSocket close to send
        }
    }
    for (auto id : drop_ids) drop(id, "timed out");
    for (auto id : flush_ids)
        if (auto it = conns_.find(id); it != conns_.end()) flush(id, *it->second);
}

}  // namespace timepipe
