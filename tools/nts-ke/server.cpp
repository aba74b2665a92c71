#include "tools/nts-ke/server.hpp"

#include <array>
#include <csignal>
#include <map>
#include <memory>
#include <sysexits.h>

#include "libtime/base/log.hpp"
#include "libtime/nts/cookie.hpp"
#include "libtime/nts/ke_client.hpp"
#include "libtime/nts/ke_message.hpp"
#include "libtime/nts/ke_record.hpp"
#include "libtime/server/listen_addresses.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/nts/key_file.hpp"

namespace nts_ke {

using namespace timepipe;
using namespace timepipe::nts;

namespace {

constexpr std::size_t kMaxInput = 64 * 1024;  // ciphertext octets one connection may send
constexpr std::chrono::milliseconds kHousekeeping{200};
constexpr std::int64_t kKeyCheckNs = 1'000'000'000;  // look at the key file at most once a second

struct Counters {
    std::uint64_t connections = 0, handshakes = 0, responses = 0, errors_sent = 0, tls_failures = 0,
                  timeouts = 0, refused = 0, cookies = 0, key_reloads = 0;
    // Error records sent by kind (RFC 8915 §4.1.3), and --rotate's rotations of the key file.
    std::uint64_t error_bad_request = 0, error_unrecognized_critical = 0, error_internal = 0,
                  key_rotations = 0, key_rotation_failures = 0;
    std::string line() const {
        return "connections=" + std::to_string(connections) + " handshakes=" + std::to_string(handshakes) +
               " responses=" + std::to_string(responses) + " errors_sent=" + std::to_string(errors_sent) +
               " tls_failures=" + std::to_string(tls_failures) + " timeouts=" + std::to_string(timeouts) +
               " refused=" + std::to_string(refused) + " cookies=" + std::to_string(cookies) +
               " key_reloads=" + std::to_string(key_reloads) + " key_rotations=" + std::to_string(key_rotations);
    }
    std::map<std::string, std::uint64_t> map() const {
        return {{"connections", connections}, {"handshakes", handshakes}, {"responses", responses},
                {"errors_sent", errors_sent}, {"tls_failures", tls_failures}, {"timeouts", timeouts},
                {"refused", refused}, {"cookies", cookies}, {"key_reloads", key_reloads},
                {"error_bad_request", error_bad_request}, {"error_unrecognized_critical", error_unrecognized_critical},
                {"error_internal", error_internal}, {"key_rotations", key_rotations},
                {"key_rotation_failures", key_rotation_failures}};
    }
};

class Server {
public:
    Server(EventLoop& loop, const ServeOptions& opt, TlsContext tls, CookieKeys keys)
        : loop_(loop), opt_(opt), tls_(std::move(tls)), keys_(std::move(keys)) {}

    Result<void> listen() {
        auto addrs = listen_addresses(opt_.listen, kNtsKePort);
        if (!addrs) return Unexpected<Error>{addrs.error()};
        for (const auto& [a, v6_only] : *addrs) {
            auto l = TcpListener::listen(a, 128, v6_only);
            if (!l) return fail(a.to_string() + ": " + l.error().what, l.error().exit_code);
            log::info("%s: listening", l->local_address().to_string().c_str());
            listeners_.push_back(std::make_unique<TcpListener>(std::move(*l)));
        }
        for (std::size_t i = 0; i < listeners_.size(); ++i) {
            auto w = FdWatcher::create(loop_, listeners_[i]->fd(), [this, i](FdEvents) { on_accept(i); });
            if (!w) return Unexpected<Error>{w.error()};
            watchers_.push_back(std::move(*w));
        }
        auto t = Timer::create(loop_, [this] { housekeeping(); });
        if (!t) return Unexpected<Error>{t.error()};
        housekeeping_.emplace(std::move(*t));
        housekeeping_->start(kHousekeeping, kHousekeeping);
        if (opt_.rotate) {
            auto r = Timer::create(loop_, [this] { rotate(); });
            if (!r) return Unexpected<Error>{r.error()};
            rotation_.emplace(std::move(*r));
            rotation_->start(*opt_.rotate, *opt_.rotate);
        }
        keys_checked_ = monotonic_now();
        return {};
    }

    void reload_certificate() {
        if (auto r = tls_.reload(); !r) log::warnx("SIGHUP: %s (the old certificate stays)", r.error().what.c_str());
        else log::info("SIGHUP: certificate and key reloaded");
    }

    const Counters& counters() const { return counters_; }

private:
    struct Conn {
        TcpStream stream;
        std::optional<FdWatcher> watcher;
        TlsSession tls;
        KeMessageReader reader;
        std::int64_t deadline = 0;
        std::size_t received = 0;
        bool handshake_done = false;
        bool closing = false;              // response (or error) written: close once flushed
        std::vector<std::byte> pending;    // ciphertext the kernel has not taken yet
    };

    void on_accept(std::size_t i) {
        for (int k = 0; k < 16; ++k) {
            auto c = listeners_[i]->accept();
            if (!c) {
                log::warnx("%s: %s", listeners_[i]->local_address().to_string().c_str(), c.error().what.c_str());
                return;
            }
            if (!*c) return;
            if (conns_.size() >= opt_.max_connections) {
                ++counters_.refused;  // closed as it goes out of scope
                continue;
            }
            auto session = TlsSession::server(tls_);
            if (!session) {
                log::warnx("TLS: %s", session.error().what.c_str());
                continue;
            }
            ++counters_.connections;
            const std::uint64_t id = next_id_++;
            auto conn = std::make_unique<Conn>(Conn{std::move(**c), std::nullopt, std::move(*session), {},
                                                    monotonic_now() + opt_.timeout.count(), 0, false, false, {}});
            auto w = FdWatcher::create(loop_, conn->stream.fd(), [this, id](FdEvents e) { on_conn(id, e); });
            if (!w) {
                log::warnx("watch: %s", w.error().what.c_str());
                continue;
            }
            conn->watcher.emplace(std::move(*w));
            conns_.emplace(id, std::move(conn));
        }
    }

    void drop(std::uint64_t id, const char* why, const std::string& detail = {}) {
        auto it = conns_.find(id);
        if (it == conns_.end()) return;
        if (log::verbosity() >= 1)
            log::info("%s: %s%s%s", it->second->stream.peer().to_string().c_str(), why, detail.empty() ? "" : ": ",
                      detail.c_str());
        conns_.erase(it);
    }

    void on_conn(std::uint64_t id, FdEvents e) {
        auto it = conns_.find(id);
        if (it == conns_.end()) return;
        Conn& c = *it->second;
        if (e.readable && !c.closing) {
            std::array<std::byte, 4096> buf;
            for (;;) {
                auto r = c.stream.read_some(buf);
                if (!r || r->eof) return drop(id, "connection closed by the client");
                if (r->would_block) break;
                c.received += r->bytes;
                if (c.received > kMaxInput) return drop(id, "closed", "more than 64 KiB from the client");
                c.tls.feed(std::span(buf).first(r->bytes));
            }
            if (!advance(id, c)) return;
        } else if (e.readable && c.closing) {
            std::array<std::byte, 4096> buf;  // the client's close_notify or anything: drained
            auto r = c.stream.read_some(buf);
            if (!r || r->eof) return drop(id, "done");
        }
        flush(id, c);
    }

    // Moves the handshake and the request on; false when the connection is gone.
    bool advance(std::uint64_t id, Conn& c) {
        if (!c.handshake_done) {
            auto h = c.tls.handshake();
            if (!h) {
                ++counters_.tls_failures;
                flush(id, c);  // the alert, if OpenSSL made one (flush may drop the connection itself)
                drop(id, "TLS", h.error().what);
                return false;
            }
            if (!*h) return true;
            c.handshake_done = true;
            ++counters_.handshakes;
        }
        for (;;) {
            std::array<std::byte, 4096> plain;
            auto n = c.tls.read(plain);
            if (!n) {
                ++counters_.tls_failures;
                drop(id, "TLS", n.error().what);
                return false;
            }
            if (!*n) {
                drop(id, "closed by the client before its request ended");
                return false;
            }
            if (**n == 0) return true;
            c.reader.feed(std::span(plain).first(**n));
            auto m = c.reader.message();
            if (!m) return respond(id, c, counted_error(KeErrorCode::bad_request), m.error().what);
            if (*m) return answer(id, c, **m);
        }
    }

    bool answer(std::uint64_t id, Conn& c, const std::vector<KeRecord>& records) {
        auto req = decode_request(records);
        if (!req) return respond(id, c, counted_error(req.error().code), req.error().what);
        static constexpr AeadAlgorithm kSupported[] = {AeadAlgorithm::aes_siv_cmac_256, AeadAlgorithm::aes_siv_cmac_512};
        auto choice = choose(*req, kSupported);
        KeResponse resp;
        resp.protocol = choice.protocol;
        if (choice.protocol && choice.aead) {
            resp.aead = static_cast<std::uint16_t>(*choice.aead);
            const std::size_t n = aead_key_size(*choice.aead);
            auto c2s = c.tls.export_key(kExporterLabel, exporter_context(*choice.aead, false), n);
            auto s2c = c.tls.export_key(kExporterLabel, exporter_context(*choice.aead, true), n);
            if (!c2s || !s2c) return respond(id, c, counted_error(KeErrorCode::internal_server_error), "key export failed");
            SessionKeys session(*choice.aead, *c2s, *s2c);
            crypto::secure_zero(*c2s);
            crypto::secure_zero(*s2c);
            refresh_keys();
            for (int i = 0; i < kCookiesPerHandshake; ++i) {
                auto cookie = seal_cookie(siv_, keys_.current(), session);
                if (cookie.empty()) return respond(id, c, counted_error(KeErrorCode::internal_server_error), "cookie");
                resp.cookies.push_back(std::move(cookie));
            }
            counters_.cookies += resp.cookies.size();
            resp.server = opt_.ntp_server;
            resp.port = opt_.ntp_port;
        }
        // Without NTPv4 or a common AEAD, the response says so (no cookies) and the client gives up.
        auto bytes = encode_response(resp);
        if (!resp.aead) {
            std::vector<std::byte> out;
            append_record(out, true, KeRecordType::next_protocol,
                          resp.protocol ? u16_body({*resp.protocol}) : std::vector<std::byte>{});
            if (resp.protocol) append_record(out, true, KeRecordType::aead_algorithm, {});
            append_record(out, true, KeRecordType::end_of_message, {});
            bytes = std::move(out);
        }
        ++counters_.responses;
        return respond(id, c, bytes, {});
    }

    std::vector<std::byte> counted_error(KeErrorCode code) {
        ++(code == KeErrorCode::bad_request                    ? counters_.error_bad_request
           : code == KeErrorCode::unrecognized_critical_record ? counters_.error_unrecognized_critical
                                                               : counters_.error_internal);
        return encode_error(code);
    }

    // Writes a response (or Error), then close_notify; the connection closes once it is sent.
    bool respond(std::uint64_t id, Conn& c, const std::vector<std::byte>& bytes, const std::string& why) {
        if (!why.empty()) {
            ++counters_.errors_sent;
            if (log::verbosity() >= 1) log::info("%s: Error record sent: %s", c.stream.peer().to_string().c_str(), why.c_str());
        }
        if (auto w = c.tls.write(bytes); !w) {
            drop(id, "TLS", w.error().what);
            return false;
        }
        c.tls.close();
        c.closing = true;
        return true;
    }

    void flush(std::uint64_t id, Conn& c) {
        auto out = c.tls.take_output();
        c.pending.insert(c.pending.end(), out.begin(), out.end());
        while (!c.pending.empty()) {
            auto w = c.stream.write_some(c.pending);
            if (!w || w->eof) return drop(id, "connection reset by the client");
            c.pending.erase(c.pending.begin(), c.pending.begin() + static_cast<std::ptrdiff_t>(w->bytes));
            if (w->would_block || w->bytes == 0) break;
        }
        if (c.watcher) (void)c.watcher->watch_writable(!c.pending.empty());
        if (c.closing && c.pending.empty()) {
            c.stream.finish();
            drop(id, "response sent");
        }
    }

    void housekeeping() {
        if (opt_.publish_counters) opt_.publish_counters(counters_.map());  // --status-socket
        const std::int64_t now = monotonic_now();
        for (auto it = conns_.begin(); it != conns_.end();) {
            if (now >= it->second->deadline) {
                ++counters_.timeouts;
                if (log::verbosity() >= 1)
                    log::info("%s: timed out (%s)", it->second->stream.peer().to_string().c_str(),
                              it->second->handshake_done ? "request incomplete" : "handshake incomplete");
                it = conns_.erase(it);
            } else {
                ++it;
            }
        }
    }

    // Takes a new key file (nts-ke --rotate-keys from elsewhere, or our own rotation) within a second.
    void refresh_keys() {
        const std::int64_t now = monotonic_now();
        if (now - keys_checked_ < kKeyCheckNs) return;
        keys_checked_ = now;
        auto k = load_cookie_key_file(opt_.keys_file);
        if (!k) {
            log::warnx("%s: %s (the keys in memory stay)", opt_.keys_file.c_str(), k.error().what.c_str());
            return;
        }
        if (k->current().id != keys_.current().id || k->keys.size() != keys_.keys.size()) {
            ++counters_.key_reloads;
            log::info("%s: reloaded, current key %08x", opt_.keys_file.c_str(), k->current().id);
        }
        keys_ = std::move(*k);
    }

    void rotate() {
        auto k = rotate_cookie_key_file(opt_.keys_file, opt_.keep);
        if (!k) {
            ++counters_.key_rotation_failures;
            log::warnx("%s: rotation failed: %s", opt_.keys_file.c_str(), k.error().what.c_str());
            return;
        }
        ++counters_.key_rotations;
        keys_ = std::move(*k);
        keys_checked_ = monotonic_now();
        log::info("%s: rotated, current key %08x", opt_.keys_file.c_str(), keys_.current().id);
    }

    EventLoop& loop_;
    const ServeOptions& opt_;
    TlsContext tls_;
    CookieKeys keys_;
    Siv siv_;
    std::int64_t keys_checked_ = 0;
    std::vector<std::unique_ptr<TcpListener>> listeners_;
    std::vector<FdWatcher> watchers_;
    std::optional<Timer> housekeeping_, rotation_;
    std::map<std::uint64_t, std::unique_ptr<Conn>> conns_;
    std::uint64_t next_id_ = 1;
    Counters counters_;
};

}  // namespace

int run_server(const ServeOptions& opt) {
    TlsConfig cfg = opt.tls;
    cfg.alpn = kNtsKeAlpn;
    auto tls = TlsContext::server(cfg);
    if (!tls) log::fatalx(tls.error().exit_code, "%s", tls.error().what.c_str());
    auto keys = load_cookie_key_file(opt.keys_file);
    if (!keys && keys.error().exit_code == EX_NOINPUT) {
        keys = rotate_cookie_key_file(opt.keys_file, opt.keep);
        if (keys) log::info("%s: created with a new key", opt.keys_file.c_str());
    }
    if (!keys) log::fatalx(keys.error().exit_code, "%s: %s", opt.keys_file.c_str(), keys.error().what.c_str());

    auto loop = EventLoop::create();
    if (!loop) log::fatalx(loop.error().exit_code, "event loop: %s", loop.error().what.c_str());
    Server server(*loop, opt, std::move(*tls), std::move(*keys));
    if (auto l = server.listen(); !l) log::fatalx(l.error().exit_code, "%s", l.error().what.c_str());
    auto signals = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int signo) {
        if (signo == SIGUSR1) log::warnx("counters: %s", server.counters().line().c_str());
        else if (signo == SIGHUP) server.reload_certificate();
        else loop->stop();
    });
    if (!signals) log::fatalx(signals.error().exit_code, "signals: %s", signals.error().what.c_str());
    loop->run();
    log::info("exiting: %s", server.counters().line().c_str());
    return 0;
}

}  // namespace nts_ke
