// webntp-serve: time over HTTP(S) and WebSocket, wire-compatible with go-webntp's clients, plus
// HEAD answered with X-HTTPSTIME. Options and wiring only: the protocol is libtime/http, the
// connections server.cpp. See man/webntp-serve.8.
#include <csignal>
#include <cstdio>
#include <getopt.h>
#include <limits>
#include <optional>
#include <string>
#include <sysexits.h>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/discipline/leap_file.hpp"
#include "libtime/http/leap_info.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/server/listen_addresses.hpp"
#include "libtime/server/upstream_feed.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/status_socket.hpp"
#include "tools/webntp-serve/server.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

constexpr std::uint16_t kDefaultPort = 8080;
constexpr const char* kSystemLeapFile = "/usr/share/zoneinfo/leap-seconds.list";

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-l ADDR[:PORT]]... [--cert FILE --key FILE] [--leapfile FILE]\n"
                 "          [--upstream -|FILE] [--allow-cross-origin] [--max-connections N] [--max-rate N]\n"
                 "          [--header-timeout TIME] [--idle-timeout TIME]\n"
                 "          [--status-socket PATH [--status-mode MODE]]\n"
                 "  -l, --listen ADDR[:PORT]  where (repeatable; default 0.0.0.0 and [::], port 8080)\n"
                 "      --cert FILE       HTTPS and WSS with this certificate chain (PEM); SIGHUP reloads\n"
                 "      --key FILE        its private key (PEM)\n"
                 "      --leapfile FILE   leap-seconds.list (default %s); expired or\n"
                 "                        corrupt: served as unknown (leap 0, next 0, step 0)\n"
                 "      --upstream -|FILE serve the time of a sample or tracking stream (time-stream(5))\n"
                 "      --allow-cross-origin  accept WebSocket upgrades from any Origin and send\n"
                 "                        Access-Control-Allow-Origin: * on JSON and HEAD replies\n"
                 "      --max-connections N  connections at once (default 1024)\n"
                 "      --max-rate N      requests or messages a second per connection (default 100)\n"
                 "      --header-timeout TIME  a request's headers must arrive within (default 10s)\n"
                 "      --idle-timeout TIME  idle keep-alive and WebSocket connections closed (default 60s)\n"
                 "      --status-socket PATH  answer status snapshots (the counters) on this Unix socket\n"
                 "      --status-mode MODE  its file mode, octal (0666)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str(), kSystemLeapFile);
}

enum LongOnly {
    kCert = 256, kKey, kLeapfile, kUpstream, kCors, kMaxConnections, kMaxRate, kHeaderTimeout, kIdleTimeout,
    kStatusSocket, kStatusMode
};

// The leap fields served: from the list when it parses and has not expired, else unknown.
class Leaps {
public:
    explicit Leaps(std::string path) : path_(std::move(path)) {}
    void load() {
        auto text = read_file(path_.c_str(), discipline::kMaxLeapFileBytes);
        if (!text) return bad(text.error().what);
        auto t = discipline::parse_leap_file(*text);
        if (!t) return bad(t.error().what);
        table_ = std::move(*t);
        said_expired_ = false;
    }
    http::LeapInfo at(UnixNanos now) {
        if (!table_) return {};
        if (discipline::leap_file_expired(*table_, now) && !said_expired_) {
            said_expired_ = true;
            log::warnx("%s: expired (#@); leap seconds served as unknown (leap 0, next 0, step 0)", path_.c_str());
        }
        return http::leap_info(*table_, now);
    }

private:
    void bad(const std::string& why) {
        table_.reset();
        log::warnx("%s: %s; leap seconds served as unknown (leap 0, next 0, step 0)", path_.c_str(), why.c_str());
    }
    std::string path_;
    std::optional<discipline::LeapTable> table_;
    bool said_expired_ = false;
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    std::vector<std::string> listen_args;
    TlsConfig tls;
    std::string leapfile = kSystemLeapFile;
    std::optional<std::string> upstream_path;
    http::SessionConfig sc;
    std::size_t max_connections = 1024;
    std::optional<std::string> status_path;
    unsigned status_mode = 0666;

    static const option long_options[] = {
        {"listen", required_argument, nullptr, 'l'},
        {"cert", required_argument, nullptr, kCert},
        {"key", required_argument, nullptr, kKey},
        {"leapfile", required_argument, nullptr, kLeapfile},
        {"upstream", required_argument, nullptr, kUpstream},
        {"allow-cross-origin", no_argument, nullptr, kCors},
        {"max-connections", required_argument, nullptr, kMaxConnections},
        {"max-rate", required_argument, nullptr, kMaxRate},
        {"header-timeout", required_argument, nullptr, kHeaderTimeout},
        {"idle-timeout", required_argument, nullptr, kIdleTimeout},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'l': listen_args.push_back(optarg); break;
        case kCert: tls.cert_file = optarg; break;
        case kKey: tls.key_file = optarg; break;
        case kLeapfile: leapfile = optarg; break;
        case kUpstream: upstream_path = optarg; break;
        case kCors: sc.allow_cross_origin = true; break;
        case kMaxConnections: max_connections = static_cast<std::size_t>(int_option("--max-connections", optarg, 1, 1000000)); break;
        case kMaxRate: sc.max_rate = static_cast<unsigned>(int_option("--max-rate", optarg, 1, 1000000)); break;
        case kHeaderTimeout: sc.header_timeout_ns = duration_option("--header-timeout", optarg).count(); break;
        case kIdleTimeout: sc.idle_timeout_ns = duration_option("--idle-timeout", optarg).count(); break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("webntp-serve %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind != argc) log::fatalx(EX_USAGE, "%s: no operands expected (see -h)", argv[optind]);
    if (tls.cert_file.empty() != tls.key_file.empty()) log::fatalx(EX_USAGE, "--cert and --key go together");
    std::signal(SIGPIPE, SIG_IGN);

    std::optional<TlsContext> tls_ctx;
    if (!tls.cert_file.empty()) {
        tls.alpn = "http/1.1";  // offered by curl and browsers; a client offering none is served too
        tls.alpn_optional = true;
        tls.allow_tls12 = true;
        auto t = TlsContext::server(tls);
        if (!t) log::fatalx(t.error().exit_code, "%s", t.error().what.c_str());
        tls_ctx.emplace(std::move(*t));
    }

    Leaps leaps(leapfile);
    leaps.load();

    std::unique_ptr<UpstreamFeed> feed;
    std::optional<UpstreamReference> upstream;
    if (upstream_path) {
        auto f = UpstreamFeed::open(*upstream_path);
        if (!f) log::fatalx(f.error().exit_code, "%s", f.error().what.c_str());
        feed = std::move(*f);
        upstream.emplace(UpstreamConfig{std::nullopt, true, std::numeric_limits<double>::infinity()});
    }

    auto loop = EventLoop::create();
    if (!loop) log::fatalx(loop.error().exit_code, "event loop: %s", loop.error().what.c_str());

    SystemClock clock;
    auto served = [&]() -> http::ServedTime {
        const UnixNanos now = clock.now();
        if (!upstream) return {true, now, leaps.at(now)};
        const UpstreamTime t = upstream->at(now);
        if (!t.synchronised) return {false, now, {}};
        return {true, now + t.correction_ns, leaps.at(now + t.correction_ns)};
    };

    // Signals are watched before any socket is bound: whoever sees the port bound may signal us.
    std::unique_ptr<webntp_serve::Server> server;
    auto signals = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int signo) {
        if (signo == SIGUSR1) log::warnx("counters: %s", server ? server->counters().line().c_str() : "");
        else if (signo == SIGHUP) {
            if (server) server->reload_certificate();
            leaps.load();
            log::info("SIGHUP: %s read again", leapfile.c_str());
        } else loop->stop();
    });
    if (!signals) log::fatalx(signals.error().exit_code, "signals: %s", signals.error().what.c_str());

    auto addrs = listen_addresses(listen_args, kDefaultPort);
    if (!addrs) log::fatalx(addrs.error().exit_code, "%s", addrs.error().what.c_str());
    std::vector<TcpListener> listeners;
    for (const auto& [a, v6_only] : *addrs) {
        auto l = TcpListener::listen(a, 1024, v6_only);
        if (!l) log::fatalx(l.error().exit_code, "%s: %s", a.to_string().c_str(), l.error().what.c_str());
        log::info("%s: listening (%s)", l->local_address().to_string().c_str(), tls_ctx ? "HTTPS, WSS" : "HTTP, WS");
        listeners.push_back(std::move(*l));
    }
    server = std::make_unique<webntp_serve::Server>(*loop, sc, max_connections, std::move(tls_ctx), served);
    if (auto s = server->start(std::move(listeners)); !s) log::fatalx(s.error().exit_code, "%s", s.error().what.c_str());

    // --status-socket: the loop publishes its counters every second (they are the loop's, not
    // atomics); the socket's thread only encodes the store.
    const ProcessIdentity self = this_process();
    observe::SnapshotStore status_store({"webntp-serve", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
    std::optional<StatusSocket> status_socket;
    std::optional<Timer> status_tick;
    if (status_path) {
        auto publish = [&] {
            status_store.publish(to_record(Stats{.source = "webntp-serve", .time = clock.now(), .counters = server->counters().map()}));
        };
        publish();
        auto s = StatusSocket::open(*status_path, static_cast<mode_t>(status_mode), [&] { return status_store.encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
        status_tick.emplace(Timer::create(*loop, publish).value());
        status_tick->start(std::chrono::seconds(1), std::chrono::seconds(1));
    }

    // --upstream: as ntp-serve and roughtime-serve follow it; a stream that ends ends the server.
    int exit_status = 0;
    std::optional<Timer> recheck;
    UpstreamLog upstream_log(feed ? feed->name() : "");
    auto reselect = [&] {
        const UnixNanos now = clock.now();
        upstream->update(now);
        upstream_log.note(upstream->report());
        const UnixNanos next = upstream->next_change();
        recheck->start(std::min(std::chrono::nanoseconds(std::max<std::int64_t>(0, next - now)) + std::chrono::milliseconds(1),
                                std::chrono::nanoseconds(std::chrono::hours(1))));
    };
    if (feed) {
        recheck.emplace(Timer::create(*loop, reselect).value());
        auto started = feed->start(
            *loop,
            [&](const UpstreamRecord& record) {
                auto ok = upstream->add(record, clock.now());
                if (ok) reselect();
                return ok;
            },
            [&](std::optional<Error> why) {
                upstream->end();
                log::warnx("%s; exiting", why ? why->what.c_str() : (feed->name() + ": the upstream ended").c_str());
                exit_status = why ? why->exit_code : EX_UNAVAILABLE;
                loop->stop();
            });
        if (!started) log::fatalx(started.error().exit_code, "%s", started.error().what.c_str());
    }

    loop->run();
    log::warnx("exiting: %s", server->counters().line().c_str());
    return exit_status;
}
