// The I/O loop of roughtime-query (see query.hpp): blocking, one exchange at a time, which is
// what a chained measurement sequence is anyway.
#include "tools/roughtime-query/query.hpp"

#include <array>
#include <map>

#include <sodium/randombytes.h>

#include "libtime/base/log.hpp"
#include "libtime/roughtime/message.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/socket.hpp"
#include "libtime/sys/tcp.hpp"

namespace roughtime_query {

namespace {

using std::chrono::nanoseconds;

const SystemClock& wall_clock() {
    static const SystemClock clock;
    return clock;
}

// Why one try failed; the most telling one is reported when all fail.
struct TryFailure {
    std::optional<roughtime::VerifyError> verify;
    std::optional<Error> local;  // a socket that could not be opened (EX_OSERR): no use retrying
    std::string last;            // "connection refused", "timed out", ...
};

Result<Answer> verified(const Target& t, std::span<const std::byte> request,
                        std::span<const std::byte> response, UnixNanos sent, UnixNanos received,
                        TryFailure& why) {
    auto v = roughtime::verify_response(request, response, t.key);
    if (!v) {
        why.verify = v.error();
        log::info("%s: a reply did not verify: %s", t.name.c_str(),
                  std::string(roughtime::failure_text(v.error())).c_str());
        return fail(std::string(roughtime::failure_text(v.error())), EX_PROTOCOL);
    }
    Answer a;
    a.source = "roughtime://" + to_string(t.address);
    a.time = std::move(*v);
    a.request.assign(request.begin(), request.end());
    a.response.assign(response.begin(), response.end());
    a.sent = sent;
    a.received = received;
    return a;
}

// One UDP try: send, then wait until a reply arrives or the try's time is up.
std::optional<Answer> udp_try(const Target& t, const SocketAddress& peer, UdpSocket& sock,
                              std::span<const std::byte> request, UnixNanos first_sent, nanoseconds wait,
                              TryFailure& why) {
    if (auto ok = sock.send_to(request, peer); !ok) {
        why.last = ok.error().what;
        return std::nullopt;
    }
    const std::int64_t deadline = monotonic_now() + wait.count();
    for (;;) {
        const std::int64_t left = deadline - monotonic_now();
        if (left <= 0) {
            why.last = "timed out";
            return std::nullopt;
        }
        auto ready = wait_readable(sock.fd(), nanoseconds(left));
        if (!ready) {
            why.local = ready.error();
            return std::nullopt;
        }
        if (!*ready) continue;  // timeout or signal: the loop checks the deadline
        std::array<std::byte, 4096> buf;
        RxSlot slot;
        slot.buffer = buf;
        auto got = sock.receive(slot);
        if (!got) {  // ICMP port unreachable and friends end this try at once
            why.last = got.error().what;
            return std::nullopt;
        }
        if (!*got) continue;
        if (slot.truncated) {
            why.verify = roughtime::VerifyError::Malformed;
            return std::nullopt;
        }
        // The earliest send is the honest bound: a reply to the first copy may arrive now.
        auto a = verified(t, request, slot.data(), first_sent, slot.rx_time, why);
        if (a) return std::move(*a);
        return std::nullopt;  // greased or forged: try again
    }
}

// One TCP try: connect, send, read one framed packet.
std::optional<Answer> tcp_try(const Target& t, const SocketAddress& peer, std::span<const std::byte> request,
                              UnixNanos first_sent, nanoseconds wait, TryFailure& why) {
    auto c = TcpClient::connect(peer, wait);
    if (!c) {
        if (c.error().exit_code == EX_OSERR) why.local = c.error();
        why.last = c.error().what;
        return std::nullopt;
    }
    std::vector<std::byte> response(roughtime::kFrameHeaderSize);
    auto step = c->send_all(request, wait);
    if (step) step = c->receive_exact(response, wait);
    if (!step) {
        why.last = step.error().what;
        return std::nullopt;
    }
    auto total = roughtime::framed_length(response, roughtime::kMaxTcpPacket);
    if (!total) {
        why.verify = roughtime::VerifyError::Malformed;
        return std::nullopt;
    }
    response.resize(*total);
    if (auto rest = c->receive_exact(std::span(response).subspan(roughtime::kFrameHeaderSize), wait); !rest) {
        why.last = rest.error().what;
        return std::nullopt;
    }
    const UnixNanos received = wall_clock().now();
    auto a = verified(t, request, response, first_sent, received, why);
    if (a) return std::move(*a);
    return std::nullopt;
}

std::uint32_t uniform(std::uint32_t bound) { return randombytes_uniform(bound); }

}  // namespace

Result<std::vector<SocketAddress>> resolve_target(const Target& t, Family family) {
    return resolve(t.address, t.address.port.value_or(0), family);
}

namespace {

std::string wrong_key_text(roughtime::VerifyError e) {
    return "answers do not verify with this public key: " + std::string(roughtime::failure_text(e));
}

}  // namespace

Result<Answer> query(const Target& t, const SocketAddress& peer, std::span<const std::byte> nonce,
                     const QueryOptions& options) {
    auto request = roughtime::make_request({t.versions, nonce, t.key});
    if (!request) return fail("cannot build a request: " + std::string(roughtime::to_string(request.error())), EX_SOFTWARE);
    // The same request without SRV. A server holding another key drops a request naming ours in
    // SRV without a word (RFC 10049 §5.1.3), which would look like a dead server; asked without
    // SRV it answers, and its answer shows the key is wrong.
    auto bare = roughtime::make_request({t.versions, nonce, std::nullopt});
    const bool has_srv = bare && *bare != *request;

    std::optional<UdpSocket> sock;
    if (t.transport == roughtime::Transport::udp) {
        SocketOptions so;
        so.pktinfo = false;
        auto s = UdpSocket::client(peer.family(), so);
        if (!s) return Unexpected<Error>{s.error()};
        // Connected: only this server's datagrams reach us, and ICMP errors are reported.
        if (auto ok = s->connect(peer); !ok) return Unexpected<Error>{ok.error()};
        sock.emplace(std::move(*s));
    }
    TryFailure why;
    const UnixNanos first_sent = wall_clock().now();
    auto one_try = [&](std::span<const std::byte> req, nanoseconds wait) {
        return sock ? udp_try(t, peer, *sock, req, first_sent, wait, why) : tcp_try(t, peer, req, first_sent, wait, why);
    };
    int tries = 0;
    for (int k = 0; k < options.retry.tries(); ++k) {
        ++tries;
        const nanoseconds wait = options.retry.try_timeout(k);
        std::optional<Answer> a = one_try(*request, wait);
        if (a) return std::move(*a);
        if (why.local) return Unexpected<Error>{*why.local};
        log::info("%s: try %d: %s", t.name.c_str(), tries,
                  why.verify ? std::string(roughtime::failure_text(*why.verify)).c_str() : why.last.c_str());
        if (k == 0 && has_srv && !why.verify) {
            // Silence or a closed stream: ask once without SRV before waiting any longer.
            a = one_try(*bare, options.retry.try_timeout(0));
            if (a) return std::move(*a);  // it verifies: the server just does not take SRV
            if (why.local) return Unexpected<Error>{*why.local};
            if (why.verify == roughtime::VerifyError::DeleSignature)
                return fail(wrong_key_text(*why.verify) + " (it ignores requests naming this key in SRV)",
                            EX_PROTOCOL);
            why.verify.reset();
        }
    }
    if (why.verify == roughtime::VerifyError::DeleSignature) return fail(wrong_key_text(*why.verify), EX_PROTOCOL);
    if (why.verify) return fail(std::string(roughtime::failure_text(*why.verify)), EX_PROTOCOL);
    return fail("no answer after " + std::to_string(tries) + (tries == 1 ? " try" : " tries") +
                    (why.last.empty() || why.last == "timed out" ? "" : " (" + why.last + ")"),
                EX_UNAVAILABLE);
}

Result<Answer> query_any(const Target& t, std::span<const SocketAddress> peers, std::span<const std::byte> nonce,
                         const QueryOptions& options) {
    std::optional<Error> first;
    for (std::size_t i = 0; i < peers.size(); ++i) {
        auto a = query(t, peers[i], nonce, options);
        if (a) return a;
        // A wrong key is the same wrong key at every address; anything else may be this one's.
        if (a.error().exit_code == EX_PROTOCOL) return a;
        if (peers.size() > 1)
            log::info("%s: %s: %s", t.name.c_str(), peers[i].to_string().c_str(), a.error().what.c_str());
        if (!first) first = a.error();
        if (peers.size() > 1 && i + 1 == peers.size())
            return fail(first->what + " (" + std::to_string(peers.size()) + " addresses tried)", first->exit_code);
    }
    if (!first) return fail("no address", EX_NOHOST);
    return Unexpected<Error>{*first};
}

Result<Sequence> run_sequence(const std::vector<Target>& targets, std::size_t pick, const QueryOptions& options) {
    auto order = roughtime::measurement_sequence(targets.size(), pick, uniform);
    if (!order) return Unexpected<Error>{order.error()};
    Sequence seq;
    seq.order = std::move(*order);
    auto note = [&](int code) {
        if (seq.first_failure == 0) seq.first_failure = code;
    };

    // Resolve each server once, before any query (getaddrinfo blocks).
    std::map<std::size_t, std::optional<std::vector<SocketAddress>>> peers;
    for (std::size_t i : seq.order) {
        if (peers.count(i)) continue;
        auto a = resolve_target(targets[i], options.family);
        if (!a) {
            log::warnx("%s: %s", targets[i].name.c_str(), a.error().what.c_str());
            note(a.error().exit_code);
            peers[i] = std::nullopt;
        } else {
            peers[i] = *a;
        }
    }

    roughtime::Chain chain;
    for (std::size_t k = 0; k < seq.order.size(); ++k) {
        const Target& t = targets[seq.order[k]];
        const auto& peer = peers[seq.order[k]];
        if (!peer) continue;
        const auto nonce = chain.next_nonce(roughtime::nonce_size(t.versions));
        auto a = query_any(t, *peer, nonce, options);
        if (!a) {
            log::warnx("%s: %s", t.name.c_str(), a.error().what.c_str());
            note(a.error().exit_code);
            continue;
        }
        if (auto ok = chain.record(t.key, a->request, a->response); !ok)
            log::fatalx(EX_SOFTWARE, "chain: %s", ok.error().what.c_str());
        seq.answered.push_back(k);
        seq.answers.push_back(std::move(*a));
    }
    seq.steps = chain.steps();
    std::vector<roughtime::StepTime> times;
    for (const auto& a : seq.answers) times.push_back({a.time.midpoint, a.time.radius_ns});
    seq.violations = roughtime::causality_violations(times);
    return seq;
}

RoughtimeConflict conflict_record(const Sequence& seq, const roughtime::CausalityViolation& v) {
    const Answer& e = seq.answers[v.earlier];
    const Answer& l = seq.answers[v.later];
    RoughtimeConflict c;
    c.source = e.source;
    c.time = l.received;
    c.later_source = l.source;
    c.earlier_midpoint = e.time.midpoint;
    c.earlier_radius = nanos_to_seconds(e.time.radius_ns);
    c.later_midpoint = l.time.midpoint;
    c.later_radius = nanos_to_seconds(l.time.radius_ns);
    c.excess = nanos_to_seconds(v.excess_ns);
    c.earlier_step = static_cast<std::int64_t>(v.earlier);
    c.later_step = static_cast<std::int64_t>(v.later);
    return c;
}

}  // namespace roughtime_query
