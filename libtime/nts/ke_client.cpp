#include "libtime/nts/ke_client.hpp"

#include <algorithm>
#include <array>
#include <sysexits.h>

#include "libtime/sys/tcp.hpp"

namespace timepipe::nts {

namespace {

using Clock = std::chrono::steady_clock;

std::chrono::nanoseconds left(Clock::time_point deadline) {
    return std::max(std::chrono::nanoseconds(0), std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now()));
}

// Sends what the session has for the peer.
Result<void> flush(TcpClient& c, TlsSession& s, Clock::time_point deadline) {
    auto out = s.take_output();
    if (out.empty()) return {};
    return c.send_all(out, left(deadline));
}

// Reads what the peer sent into the session; "connection closed" at EOF.
Result<void> pull(TcpClient& c, TlsSession& s, Clock::time_point deadline) {
    std::array<std::byte, 4096> buf;
    auto n = c.receive_some(buf, left(deadline));
    if (!n) return Unexpected<Error>{n.error()};
    if (*n == 0) return fail("connection closed by the server", EX_PROTOCOL);
    s.feed(std::span(buf).first(*n));
    return {};
}

Result<KeResult> exchange_with(const SocketAddress& addr, const HostPort& server, const TlsContext& ctx,
                               const KeClientOptions& opt) {
    const auto deadline = Clock::now() + opt.timeout;
    auto tcp = TcpClient::connect(addr, opt.timeout);
    if (!tcp) return Unexpected<Error>{tcp.error()};
    auto tls = TlsSession::client(ctx, server.host);
    if (!tls) return Unexpected<Error>{tls.error()};
    for (;;) {
        auto done = tls->handshake();
        if (auto f = flush(*tcp, *tls, deadline); !f) return Unexpected<Error>{f.error()};
        if (!done) return Unexpected<Error>{done.error()};
        if (*done) break;
        if (auto p = pull(*tcp, *tls, deadline); !p) return Unexpected<Error>{p.error()};
    }

    KeRequest req;
    req.aeads.clear();
    for (auto a : opt.aeads) req.aeads.push_back(static_cast<std::uint16_t>(a));
    auto request = encode_request(req);
    if (auto w = tls->write(request); !w) return Unexpected<Error>{w.error()};
    if (auto f = flush(*tcp, *tls, deadline); !f) return Unexpected<Error>{f.error()};

    KeMessageReader reader;
    std::size_t received = 0;
    std::optional<std::vector<KeRecord>> records;
    while (!records) {
        std::array<std::byte, 4096> plain;
        auto n = tls->read(plain);
        if (!n) return Unexpected<Error>{n.error()};
        if (!*n) return fail("the server closed the connection before End of Message", EX_PROTOCOL);
        if (**n == 0) {
            if (auto p = pull(*tcp, *tls, deadline); !p) return Unexpected<Error>{p.error()};
            continue;
        }
        received += **n;
        reader.feed(std::span(plain).first(**n));
        auto m = reader.message();
        if (!m) return Unexpected<Error>{Error{m.error().what, EX_PROTOCOL}};
        records = std::move(*m);
    }
    tls->close();
    (void)flush(*tcp, *tls, deadline);  // close_notify, best effort

    auto resp = decode_response(*records);
    if (!resp) return Unexpected<Error>{Error{resp.error().what, EX_PROTOCOL}};
    auto aead = aead_from_id(*resp->aead);
    bool offered = aead && std::find(opt.aeads.begin(), opt.aeads.end(), *aead) != opt.aeads.end();
    if (!offered) return fail("the server chose AEAD " + std::to_string(*resp->aead) + ", which was not offered", EX_PROTOCOL);

    const std::size_t key_size = aead_key_size(*aead);
    auto c2s = tls->export_key(kExporterLabel, exporter_context(*aead, false), key_size);
    auto s2c = tls->export_key(kExporterLabel, exporter_context(*aead, true), key_size);
    if (!c2s || !s2c) return Unexpected<Error>{(!c2s ? c2s : s2c).error()};

    KeResult r;
    r.aead = *aead;
    r.keys = SessionKeys(*aead, *c2s, *s2c);
    crypto::secure_zero(*c2s);
    crypto::secure_zero(*s2c);
    r.ntp_host = resp->server.value_or(server.host);
    r.ntp_port = resp->port.value_or(123);
    r.ke_address = addr;
    r.tls = tls->info();
    r.request_size = request.size();
    r.response_size = received;
    r.response = std::move(*resp);
    return r;
}

}  // namespace

std::vector<std::byte> exporter_context(AeadAlgorithm a, bool server_to_client) {
    auto id = static_cast<std::uint16_t>(a);
    return {std::byte{0}, std::byte{0},  // next protocol: NTPv4
            std::byte(id >> 8), std::byte(id & 0xFF), server_to_client ? std::byte{1} : std::byte{0}};
}

Result<KeResult> nts_key_exchange(const HostPort& server, const KeClientOptions& opt) {
    TlsConfig cfg;
    cfg.alpn = kNtsKeAlpn;
    cfg.groups = opt.groups;
    cfg.ca_file = opt.ca_file;
    auto ctx = TlsContext::client(cfg);
    if (!ctx) return Unexpected<Error>{ctx.error()};
    auto addrs = resolve(server, kNtsKePort, opt.family, opt.timeout);
    if (!addrs) return fail(to_string(server) + ": " + addrs.error().what, addrs.error().exit_code);
    Error last{"no address", EX_NOHOST};
    for (const auto& a : *addrs) {
        auto r = exchange_with(a, server, *ctx, opt);
        if (r) return r;
        last = Error{a.to_string() + ": " + r.error().what, r.error().exit_code};
        // a server that answered and refused will refuse again at its next address
        if (r.error().exit_code == EX_PROTOCOL) break;
    }
    return Unexpected<Error>{last};
}

}  // namespace timepipe::nts
