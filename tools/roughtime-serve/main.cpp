// roughtime-serve: a Roughtime server (RFC 10049, its drafts, and Google-Roughtime) for the
// local clock or for an upstream followed through the time stream. Options and wiring only:
// protocol decisions are in libtime/roughtime_responder.*, key rotation in
// libtime/roughtime_online_key.*, the I/O loop in server.cpp. See man/roughtime-serve.8.
#include <algorithm>
#include <chrono>
#include <csignal>
#include <limits>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/keyfile.hpp"
#include "libtime/sys/status_socket.hpp"
#include "libtime/sys/tcp.hpp"
#include "libtime/server/listen_addresses.hpp"
#include "libtime/server/upstream_feed.hpp"
#include "tools/roughtime-serve/options.hpp"
#include "tools/roughtime-serve/server.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::rtserve;

namespace {

constexpr const char* kCredentialName = "roughtime-key";
constexpr std::chrono::milliseconds kEndGrace{500};  // --upstream ended: a stop signal may follow
constexpr std::chrono::milliseconds kStatusEvery{200};  // --status-socket: counters this fresh

std::span<std::byte> writable_bytes(std::string& s) { return std::as_writable_bytes(std::span(s)); }

// --keygen FILE: a fresh seed, written 0600; the public key on stdout.
int keygen(const Options& opt) {
    roughtime::Seed seed;
    crypto::random_bytes(seed.span());
    std::string text = roughtime::format_key_file(seed);
    auto ok = write_private_file(opt.keygen->c_str(), std::as_bytes(std::span(text)), opt.force);
    crypto::secure_zero(writable_bytes(text));
    if (!ok) log::fatalx(ok.error().exit_code, "%s: %s", opt.keygen->c_str(), ok.error().what.c_str());
    const crypto::Ed25519KeyPair kp = crypto::ed25519_from_seed(seed.span());
    std::printf("public key (base64): %s\npublic key (hex): %s\n", roughtime::public_key_base64(kp.public_key).c_str(),
                roughtime::public_key_hex(kp.public_key).c_str());
    if (std::fflush(stdout) != 0) log::fatal(EX_IOERR, "stdout");
    return 0;
}

// --key FILE, else the systemd credential; refused if group or others may read it.
crypto::Ed25519KeyPair load_key(const Options& opt) {
    std::string path;
    if (opt.key) path = *opt.key;
    else if (const char* dir = std::getenv("CREDENTIALS_DIRECTORY"); dir && *dir)
        path = std::string(dir) + "/" + kCredentialName;
    else log::fatalx(EX_USAGE, "no key: give --key FILE (see -h; --keygen makes one)");
    auto text = read_private_file(path.c_str(), roughtime::kMaxKeyFileSize);
    if (!text) log::fatalx(text.error().exit_code, "%s: %s", path.c_str(), text.error().what.c_str());
    auto seed = roughtime::parse_key_file(*text);
    crypto::secure_zero(writable_bytes(*text));
    if (!seed) log::fatalx(seed.error().exit_code, "%s: %s", path.c_str(), seed.error().what.c_str());
    crypto::Ed25519KeyPair kp = crypto::ed25519_from_seed(seed->span());
    log::info("long-term public key %s", roughtime::public_key_base64(kp.public_key).c_str());
    return kp;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt = parse_options(argc, argv);
    if (!crypto::init()) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");
    if (opt.keygen) return keygen(opt);
    std::signal(SIGPIPE, SIG_IGN);

    crypto::Ed25519KeyPair long_term = load_key(opt);

    std::unique_ptr<UpstreamFeed> feed;
    std::optional<UpstreamReference> upstream;
    if (opt.upstream) {
        auto f = UpstreamFeed::open(*opt.upstream);
        if (!f) log::fatalx(f.error().exit_code, "%s", f.error().what.c_str());
        feed = std::move(*f);
        // No distance limit: RADI says how far the served time may be off, however far that is.
        upstream.emplace(UpstreamConfig{opt.stale_after_ns, true, std::numeric_limits<double>::infinity()});
    }

    auto loop = EventLoop::create();
    if (!loop) log::fatalx(loop.error().exit_code, "event loop: %s", loop.error().what.c_str());

    // Signals are watched before any socket is bound: whoever sees the port bound may signal us.
    std::unique_ptr<Server> server;
    auto signals = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int signo) {
        if (signo == SIGUSR1) log::warnx("counters: %s", server ? server->counters().line().c_str() : "");
        else if (signo == SIGHUP) log::info("SIGHUP: nothing to reload (restart to change the key)");
        else loop->stop();
    });
    if (!signals) log::fatalx(signals.error().exit_code, "signals: %s", signals.error().what.c_str());

    // Bind everything first, so a bad address is one error line and an exit.
    std::vector<UdpSocket> udp;
    std::vector<TcpListener> tcp;
    SocketOptions so;
    so.rx_timestamps = false;  // MIDP is read when a batch is signed, not when it arrived
    // The default buffer holds only ~90 requests of 1036 octets: a burst larger than a batch
    // would be dropped by the kernel before we read it (RcvbufErrors).
    so.receive_buffer = 1 << 20;
    auto listen = listen_addresses(opt.listen, kDefaultPort);
    if (!listen) log::fatalx(listen.error().exit_code, "%s", listen.error().what.c_str());
    for (const auto& [a, v6_only] : *listen) {
        so.v6_only = v6_only;
        auto s = UdpSocket::bind(a, so);
        if (!s) log::fatalx(s.error().exit_code, "%s: %s", a.to_string().c_str(), s.error().what.c_str());
        log::info("%s: listening (UDP)", s->local_address().to_string().c_str());
        udp.push_back(std::move(*s));
        if (!opt.tcp) continue;
        auto l = TcpListener::listen(a, 128, v6_only);
        if (!l) log::fatalx(l.error().exit_code, "%s: %s", a.to_string().c_str(), l.error().what.c_str());
        log::info("%s: listening (TCP)", l->local_address().to_string().c_str());
        tcp.push_back(std::move(*l));
    }

    const ServerConfig sc{.batch_size = opt.batch_size,
                          .batch_delay_ns = opt.batch_delay_ns,
                          .radius_ns = opt.radius_ns,
                          .offset_ns = opt.offset_ns,
                          .online_validity_ns = opt.online_validity_ns,
                          .google = opt.google};
    if (opt.offset_ns != 0)
        log::warnx("--offset: serving a time %.3f s off, for testing clients only", nanos_to_seconds(opt.offset_ns));
    server = std::make_unique<Server>(*loop, std::move(long_term), sc, std::move(udp), std::move(tcp),
                                      upstream ? &*upstream : nullptr);
    server->start();

    // --status-socket: the counters (published from the loop, which owns them) and the newest
    // upstream record followed.
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    std::optional<Timer> status_timer;
    if (opt.status_socket) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"roughtime-serve", 0, self.pid, self.started, TIMEPIPE_VERSION, *opt.status_socket});
        auto s = StatusSocket::open(*opt.status_socket, static_cast<mode_t>(opt.status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
        auto publish = [&] { status->publish(to_record(Stats{"roughtime-serve", wall_clock_now(), server->counters().map()})); };
        publish();
        auto t = Timer::create(*loop, publish);
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        status_timer.emplace(std::move(*t));
        status_timer->start(kStatusEvery, kStatusEvery);
    }

    // --upstream: samples in, selection at once and again whenever a sample may have gone stale;
    // a change of state said once on stderr. A stream that ends ends the server, for systemd
    // to restart the pipeline.
    int exit_status = 0;
    std::optional<Timer> recheck;  // the next reselection, or, once the stream ended, the grace
    std::optional<Error> ended_why;
    UpstreamLog upstream_log(feed ? feed->name() : "");
    SystemClock clock;
    auto reselect = [&] {
        const UnixNanos now = clock.now();
        upstream->update(now);
        upstream_log.note(upstream->report());
        const UnixNanos next = upstream->next_change();
        recheck->start(std::min(std::chrono::nanoseconds(std::max<std::int64_t>(0, next - now)) + std::chrono::milliseconds(1),
                                std::chrono::nanoseconds(std::chrono::hours(1))));
    };
    if (feed) {
        auto t = Timer::create(*loop, reselect);
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        recheck.emplace(std::move(*t));
        auto started = feed->start(
            *loop,
            [&](const UpstreamRecord& record) {
                if (status) std::visit([&](const auto& r) { status->publish(to_record(r)); }, record);
                auto ok = upstream->add(record, clock.now());
                if (ok) reselect();
                return ok;
            },
            [&](std::optional<Error> why) {
                upstream->end();
                // A service manager stopping the pipeline signals every process at once: said
                // and acted on after kEndGrace, unless SIGTERM or SIGINT comes first.
                ended_why = why;
                recheck.emplace(Timer::create(*loop, [&] {
                                    log::warnx("%s; exiting", ended_why ? ended_why->what.c_str()
                                                                        : (feed->name() + ": the upstream ended").c_str());
                                    exit_status = ended_why ? ended_why->exit_code : EX_UNAVAILABLE;
                                    loop->stop();
                                }).value());
                recheck->start(kEndGrace);
            });
        if (!started) log::fatalx(started.error().exit_code, "%s", started.error().what.c_str());
    }

    loop->run();
    log::warnx("exiting: %s", server->counters().line().c_str());
    return exit_status;  // the long-term and online keys are wiped as the server goes
}
