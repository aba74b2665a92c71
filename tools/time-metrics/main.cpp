// time-metrics: the Prometheus exporter of a timepipe installation. On each GET /metrics it reads
// every status socket and serves the snapshots as the text exposition format 0.0.4
// (libtime/observe/metrics). HTTP is libtime/http/server_session on sys/connection_server, the
// piece webntp-serve uses; no time daemon gets a TCP listener or an HTTP parser. See
// man/time-metrics.8.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <getopt.h>
#include <memory>
#include <string>
#include <sysexits.h>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/http/server_session.hpp"
#include "libtime/observe/metrics.hpp"
#include "libtime/server/listen_addresses.hpp"
#include "libtime/sys/connection_server.hpp"
#include "libtime/sys/event_loop.hpp"
#include "tools/time-metrics/sockets.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

constexpr std::uint16_t kDefaultPort = 9975;  // ntpd-rs's exporter's
constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-l ADDR[:PORT]]... [-s PATH]... [-t TIME] [--print]\n"
                 "  -l, --listen ADDR[:PORT]  serve HTTP there (repeatable; default 127.0.0.1\n"
                 "                        and [::1], port %u)\n"
                 "  -s, --sockets PATH    status sockets to read: a socket, or a directory's\n"
                 "                        *.sock and */*.sock (repeatable; default /run/timepipe)\n"
                 "  -t, --timeout TIME    each socket's answer within (default 200ms)\n"
                 "  -p, --print           one scrape to standard output, then exit\n"
                 "      --max-connections N  connections at once (default 64)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str(), kDefaultPort);
}

enum LongOnly { kMaxConnections = 256 };

// Reads the sockets and renders them; remembers who answered where, to count restarts.
class Exporter {
public:
    Exporter(std::vector<std::string> sockets, std::chrono::nanoseconds timeout)
        : sockets_(std::move(sockets)), timeout_(timeout) {}

    std::string scrape() {
        std::vector<observe::Scrape> scrapes;
        for (auto& r : time_metrics::read_sockets(time_metrics::expand_socket_paths(sockets_), timeout_)) {
            observe::Scrape s;
            s.endpoint = r.path;
            if (!r.bytes) s.error = r.bytes.error().what;
            else if (auto snap = observe::decode_snapshot(*r.bytes, r.path); !snap) s.error = r.path + ": " + snap.error().what;
            else s.snapshot = std::move(*snap);
            if (!s.error.empty() && log::verbosity() >= 1) log::info("%s", s.error.c_str());
            scrapes.push_back(std::move(s));
        }
        restarts_.track(scrapes);
        ++scrapes_;
        return observe::render_metrics(scrapes);
    }
    std::uint64_t scrapes() const { return scrapes_; }

private:
    std::vector<std::string> sockets_;
    std::chrono::nanoseconds timeout_;
    observe::RestartTracker restarts_;
    std::uint64_t scrapes_ = 0;
};

http::Response answer(Exporter& exporter, const http::Request& rq) {
    const auto path = rq.path();
    if (path == "/metrics") {
        http::Response r{200, {{"Content-Type", kContentType}}, exporter.scrape(), false};
        return r;
    }
    if (path == "/")
        return {200, {{"Content-Type", "text/html; charset=utf-8"}},
                "<!DOCTYPE html>\n<html><head><title>time-metrics</title></head><body>\n"
                "<h1>time-metrics</h1>\n<p><a href=\"/metrics\">/metrics</a>: timepipe's status sockets "
                "as Prometheus metrics.</p>\n</body></html>\n",
                false};
    // Not an error that ends the connection: a scraper may go on to /metrics.
    http::Response r = http::Response::text(404, "no such page; the metrics are at /metrics\n");
    r.close = false;
    return r;
}

// A ServerSession as the connection server drives it.
class Connection final : public ConnectionSession {
public:
    Connection(Exporter& exporter, std::int64_t now)
        : session_(http::ServerConfig{.max_header_bytes = 8192, .max_body_bytes = 0, .max_rate = 20,
                                      .header_timeout_ns = 10 * kNanosPerSecond, .idle_timeout_ns = 60 * kNanosPerSecond},
                   [&exporter](const http::Request& rq) { return answer(exporter, rq); }, now) {}
    void feed(std::span<const std::byte> plain, std::int64_t now) override { session_.feed(plain, now); }
    std::vector<std::byte> take_output() override { return session_.take_output(); }
    bool has_output() const override { return session_.has_output(); }
    bool done() const override { return session_.done(); }
    bool expired(std::int64_t now) override { return session_.expired(now); }
    void end_of_input() override { session_.end_of_input(); }
    std::string why() const override { return session_.why(); }

private:
    http::ServerSession session_;
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    std::vector<std::string> listen_args, sockets;
    std::chrono::nanoseconds timeout = std::chrono::milliseconds(200);
    bool print = false;
    std::size_t max_connections = 64;

    static const option long_options[] = {
        {"listen", required_argument, nullptr, 'l'},
        {"sockets", required_argument, nullptr, 's'},
        {"timeout", required_argument, nullptr, 't'},
        {"print", no_argument, nullptr, 'p'},
        {"max-connections", required_argument, nullptr, kMaxConnections},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":l:s:t:pvhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'l': listen_args.push_back(optarg); break;
        case 's': sockets.push_back(optarg); break;
        case 't': timeout = duration_option("-t", optarg); break;
        case 'p': print = true; break;
        case kMaxConnections: max_connections = static_cast<std::size_t>(int_option("--max-connections", optarg, 1, 100000)); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("time-metrics %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind != argc) log::fatalx(EX_USAGE, "%s: no operands expected (see -h)", argv[optind]);
    if (timeout.count() <= 0) log::fatalx(EX_USAGE, "-t: the timeout must be more than 0");
    std::signal(SIGPIPE, SIG_IGN);

    Exporter exporter(sockets, timeout);
    if (print) {
        const std::string body = exporter.scrape();
        if (std::fwrite(body.data(), 1, body.size(), stdout) != body.size() || std::fflush(stdout) != 0)
            log::fatalx(EX_IOERR, "standard output: write failed");
        return 0;
    }

    auto loop = EventLoop::create();
    if (!loop) log::fatalx(loop.error().exit_code, "event loop: %s", loop.error().what.c_str());
    auto signals = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int signo) {
        if (signo == SIGUSR1 || signo == SIGHUP) log::warnx("counters: scrapes=%llu", static_cast<unsigned long long>(exporter.scrapes()));
        else loop->stop();
    });
    if (!signals) log::fatalx(signals.error().exit_code, "signals: %s", signals.error().what.c_str());

    // Loopback only unless told: metrics say which servers a host uses and how it keeps time.
    const bool defaults = listen_args.empty();
    if (defaults) listen_args = {"127.0.0.1", "[::1]"};
    auto addrs = listen_addresses(listen_args, kDefaultPort);
    if (!addrs) log::fatalx(addrs.error().exit_code, "%s", addrs.error().what.c_str());
    std::vector<TcpListener> listeners;
    for (const auto& [a, v6_only] : *addrs) {
        auto l = TcpListener::listen(a, 64, v6_only);
        if (!l) {
            // A host without IPv6 has no [::1]: the IPv4 default alone then.
            if (defaults && a.family() == AddressFamily::v6 && !listeners.empty()) {
                log::warnx("%s: %s (IPv4 only)", a.to_string().c_str(), l.error().what.c_str());
                continue;
            }
            log::fatalx(l.error().exit_code, "%s: %s", a.to_string().c_str(), l.error().what.c_str());
        }
        log::info("%s: listening (GET /metrics)", l->local_address().to_string().c_str());
        listeners.push_back(std::move(*l));
    }
    ConnectionServer server(*loop, ConnectionLimits{.max_connections = max_connections}, std::nullopt,
                            [&exporter](std::int64_t now) { return std::make_unique<Connection>(exporter, now); });
    if (auto s = server.start(std::move(listeners)); !s) log::fatalx(s.error().exit_code, "%s", s.error().what.c_str());
    loop->run();
    return 0;
}
