#include "tools/webntp-serve/server.hpp"

#include "libtime/base/log.hpp"

namespace webntp_serve {

using namespace timepipe;

namespace {

// A WebNtpSession as the connection server drives it.
class Connection final : public ConnectionSession {
public:
    Connection(const http::SessionConfig& config, const http::WebNtpSession::TimeSource& time, std::int64_t now)
        : session(config, time, now) {}
    void feed(std::span<const std::byte> plain, std::int64_t now) override { session.feed(plain, now); }
    std::vector<std::byte> take_output() override { return session.take_output(); }
    bool has_output() const override { return session.has_output(); }
    bool done() const override { return session.done(); }
    bool expired(std::int64_t now) override { return session.expired(now); }
    void end_of_input() override { session.end_of_input(); }
    std::string why() const override { return session.why(); }

    http::WebNtpSession session;
};

}  // namespace

std::string Counters::line() const {
    const auto& s = session;
    const auto& c = connections;
    auto n = [](std::uint64_t v) { return std::to_string(v); };
    return "connections=" + n(c.connections) + " refused=" + n(c.refused) + " tls_failures=" + n(c.tls_failures) +
           " json=" + n(s.http_json) + " head=" + n(s.http_head) + " ws_upgrades=" + n(s.ws_upgrades) +
           " ws_messages=" + n(s.ws_messages) + " bad_requests=" + n(s.bad_requests) +
           " headers_too_large=" + n(s.headers_too_large) + " rate_limited=" + n(s.rate_limited) +
           " forbidden_origin=" + n(s.forbidden_origin) + " ws_closed_error=" + n(s.ws_closed_error) +
           " timeouts=" + n(s.timeouts + c.handshake_timeouts) + " unsynchronised=" + n(s.unsynchronised);
}

std::map<std::string, std::uint64_t> Counters::map() const {
    const auto& s = session;
    const auto& c = connections;
    return {{"connections", c.connections}, {"refused", c.refused}, {"tls_failures", c.tls_failures},
            {"json", s.http_json}, {"head", s.http_head}, {"ws_upgrades", s.ws_upgrades},
            {"ws_messages", s.ws_messages}, {"bad_requests", s.bad_requests},
            {"headers_too_large", s.headers_too_large}, {"rate_limited", s.rate_limited},
            {"forbidden_origin", s.forbidden_origin}, {"ws_closed_error", s.ws_closed_error},
            {"timeouts", s.timeouts + c.handshake_timeouts}, {"unsynchronised", s.unsynchronised}};
}

Server::Server(EventLoop& loop, const http::SessionConfig& config, std::size_t max_connections, std::optional<TlsContext> tls,
               http::WebNtpSession::TimeSource time)
    : server_(loop, ConnectionLimits{.max_connections = max_connections}, std::move(tls),
              [config, time = std::move(time)](std::int64_t now) { return std::make_unique<Connection>(config, time, now); }) {
    server_.on_close([this](ConnectionSession& s) { closed_ += static_cast<Connection&>(s).session.counters(); });
}

void Server::reload_certificate() {
    if (!server_.tls()) return log::info("SIGHUP: no certificate to reload (plain HTTP)");
    if (auto r = server_.reload_certificate(); !r) log::warnx("SIGHUP: %s (the old certificate stays)", r.error().what.c_str());
    else log::info("SIGHUP: certificate and key reloaded");
}

Counters Server::counters() const {
    Counters c{server_.counters(), closed_};
    server_.for_each([&](const ConnectionSession& s) { c.session += static_cast<const Connection&>(s).session.counters(); });
    return c;
}

}  // namespace webntp_serve
