// webntp-loadgen: HTTP keep-alive and WebSocket load generator for bench/webntp-vs-nginx
// (bench/README.md). CONNECTIONS threads each hold one connection to the server and send
// requests back to back, the next when the last is answered (closed loop, no pipelining):
// GET PATH?TS over HTTP/1.1, or with --ws one WebSocket text message TS per request, TS the
// wall-clock time as webntp's clients send it (seconds, 6 decimals). A connection that fails is
// counted and opened again.
//
//   webntp-loadgen [-c CONNECTIONS] [-d DURATION] [-n REQUESTS] [-t TIMEOUT] [--ws] [--path PATH]
//                  [--host HOST] [--check-echo] [-o text|json] [--json] HOST:PORT
//
// Prints one summary line or one JSON object. The server's CPU per response is the caller's to
// measure (bench/webntp-vs-nginx reads it from /proc).
#include <getopt.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <string>
#include <sys/resource.h>
#include <sysexits.h>
#include <thread>
#include <vector>

#include "bench/loadcore/histogram.hpp"
#include "bench/webntp-loadgen/conn.hpp"
#include "libtime/base/cli_options.hpp"
#include "libtime/base/duration.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using Clock = std::chrono::steady_clock;

namespace {

constexpr unsigned kMaxConnections = 1024;

void usage(std::FILE* out) {
    std::fputs(
        "usage: webntp-loadgen [-c CONNECTIONS] [-d DURATION] [-n REQUESTS] [-t TIMEOUT] [--ws]\n"
        "                      [--path PATH] [--host HOST] [--check-echo] [-o text|json] [--json]\n"
        "                      HOST:PORT\n"
        "Loads a WebNTP (or any HTTP) server over CONNECTIONS keep-alive connections, one thread\n"
        "each, each sending its next request when the last is answered: GET PATH?TS over HTTP/1.1,\n"
        "or one WebSocket text message TS per request (--ws). TS is the wall clock, 6 decimals.\n"
        "  -c, --connections N   connections at once (default 8, at most 1024)\n"
        "  -d, --duration T      stop after T (default 5s, at most 600s); 1.5, 250ms, 2s\n"
        "  -n, --requests N      stop after N answered requests, all connections together\n"
        "  -t, --timeout T       wait at most T for a connection, a send or a reply (default 1s)\n"
        "      --ws              WebSocket (RFC 6455) instead of plain HTTP requests\n"
        "      --path PATH       request path (default /; a WebSocket upgrade goes there too)\n"
        "      --host HOST       the Host header (default the HOST:PORT argument)\n"
        "      --no-subprotocol  offer no Sec-WebSocket-Protocol (default webntp.shogo82148.com)\n"
        "      --check-echo      a reply counts only when it holds \"it\":TS, the timestamp sent\n"
        "  -o, --output FORMAT   text (default) or json: one object on one line\n"
        "      --json            same as -o json\n"
        "  -h, --help            print this help\n"
        "  -V, --version         print the version\n"
        "Exit status: 0; 64 bad usage; 69 no valid reply; 76 replies that did not count (the first\n"
        "reason is printed).\n",
        out);
}

std::int64_t duration_or_die(const char* opt, const char* arg, std::int64_t lo, std::int64_t hi, const char* range) {
    auto d = parse_duration(arg);
    if (!d) log::fatalx(EX_USAGE, "%s: bad duration \"%s\": %s", opt, arg, d.error().what.c_str());
    if (d->count() < lo || d->count() > hi) log::fatalx(EX_USAGE, "%s: \"%s\" is not a duration %s", opt, arg, range);
    return d->count();
}

std::uint64_t count_or_die(const char* opt, const char* arg, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' || n < 1 || n > max)
        log::fatalx(EX_USAGE, "%s: \"%s\" is not a count from 1 to %" PRIu64, opt, arg, max);
    return n;
}

// The wall clock as webntp's clients send it: seconds since 1970 with 6 decimals.
std::string timestamp_now() {
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%06lld", static_cast<long long>(us / 1000000), static_cast<long long>(us % 1000000));
    return buf;
}

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Totals {
    std::mutex mutex;
    std::uint64_t valid = 0, invalid = 0, conn_errors = 0, connects = 0;
    std::string first_invalid, first_error;
    bench::LatencyHistogram latency;
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    unsigned connections = 8;
    std::int64_t duration_ns = 5'000'000'000, timeout_ns = 1'000'000'000;
    std::uint64_t limit = 0;
    bool json = false;
    bench::ConnOptions co;

    enum { kJson = 1000, kWs, kPath, kHost, kCheckEcho, kNoSub };
    static const option long_options[] = {
        {"connections", required_argument, nullptr, 'c'}, {"duration", required_argument, nullptr, 'd'},
        {"requests", required_argument, nullptr, 'n'},    {"timeout", required_argument, nullptr, 't'},
        {"ws", no_argument, nullptr, kWs},                {"path", required_argument, nullptr, kPath},
        {"host", required_argument, nullptr, kHost},      {"check-echo", no_argument, nullptr, kCheckEcho},
        {"no-subprotocol", no_argument, nullptr, kNoSub}, {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, kJson},            {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},           {nullptr, 0, nullptr, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:d:n:t:o:hV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'c': connections = static_cast<unsigned>(count_or_die("-c", optarg, kMaxConnections)); break;
        case 'd': duration_ns = duration_or_die("-d", optarg, 1, 600'000'000'000, "up to 600s"); break;
        case 'n': limit = count_or_die("-n", optarg, UINT64_MAX); break;
        case 't': timeout_ns = duration_or_die("-t", optarg, 1'000'000, 60'000'000'000, "from 1ms to 60s"); break;
        case 'o':
            if (std::string_view(optarg) == "json") json = true;
            else if (std::string_view(optarg) == "text") json = false;
            else log::fatalx(EX_USAGE, "-o: unknown output format \"%s\" (text or json)", optarg);
            break;
        case kJson: json = true; break;
        case kWs: co.websocket = true; break;
        case kPath:
            if (optarg[0] != '/' || std::string_view(optarg).find_first_of("? \r\n") != std::string_view::npos)
                log::fatalx(EX_USAGE, "--path: \"%s\" is not an absolute path without query or spaces", optarg);
            co.path = optarg;
            break;
        case kHost:
            if (*optarg == '\0' || std::string_view(optarg).find_first_of(" \r\n") != std::string_view::npos)
                log::fatalx(EX_USAGE, "--host: \"%s\" is not a host name", optarg);
            co.host = optarg;
            break;
        case kCheckEcho: co.check_echo = true; break;
        case kNoSub: co.subprotocol.clear(); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("webntp-loadgen %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind != argc - 1)
        log::fatalx(EX_USAGE, "%s (see -h)", optind == argc ? "missing HOST:PORT" : "more than one server");
    const char* target = argv[optind];
    auto hp = parse_host_port(target);
    if (!hp) log::fatalx(EX_USAGE, "%s: %s", target, hp.error().what.c_str());
    if (!hp->port || *hp->port == 0) log::fatalx(EX_USAGE, "%s: a port from 1 to 65535 is needed", target);
    auto addrs = resolve(*hp, *hp->port);
    if (!addrs) log::fatalx(addrs.error().exit_code, "%s: %s", target, addrs.error().what.c_str());
    const SocketAddress server = addrs->front();
    if (co.host.empty()) co.host = to_string(*hp);
    co.timeout = std::chrono::nanoseconds(timeout_ns);
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    Totals totals;
    std::atomic<std::uint64_t> answered{0};
    const auto start = Clock::now();
    const auto end = start + std::chrono::nanoseconds(duration_ns);
    auto more = [&] { return Clock::now() < end && !stop_requested() && (limit == 0 || answered.load() < limit); };
    const double cpu0 = cpu_seconds();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < connections; ++t)
        workers.emplace_back([&] {
            std::uint64_t valid = 0, invalid = 0, errors = 0, connects = 0;
            std::string first_invalid, first_error;
            std::vector<std::uint64_t> latency;  // handed to the shared histogram in batches
            latency.reserve(4096);
            auto flush = [&] {
                std::lock_guard lock(totals.mutex);
                for (auto ns : latency) totals.latency.add(ns);
                latency.clear();
            };
            std::unique_ptr<bench::WebNtpConn> conn;
            while (more()) {
                if (!conn) {
                    ++connects;
                    auto o = bench::WebNtpConn::open(server, co);
                    if (!o) {
                        if (errors++ == 0) first_error = o.error().what;
                        std::this_thread::sleep_for(std::chrono::milliseconds(10));  // refused: do not spin
                        continue;
                    }
                    conn = std::move(*o);
                }
                const auto t0 = Clock::now();
                auto r = conn->exchange(timestamp_now());
                if (!r) {
                    if (errors++ == 0) first_error = r.error().what;
                    conn.reset();
                    continue;
                }
                if (r->ok) {
                    ++valid;
                    answered.fetch_add(1, std::memory_order_relaxed);
                    latency.push_back(static_cast<std::uint64_t>(std::chrono::nanoseconds(Clock::now() - t0).count()));
                    if (latency.size() == 4096) flush();
                } else if (invalid++ == 0) {
                    first_invalid = r->why;
                }
            }
            flush();
            std::lock_guard lock(totals.mutex);
            totals.valid += valid;
            totals.invalid += invalid;
            totals.conn_errors += errors;
            totals.connects += connects;
            if (totals.first_invalid.empty()) totals.first_invalid = first_invalid;
            if (totals.first_error.empty()) totals.first_error = first_error;
        });
    for (auto& w : workers) w.join();
    const double cpu = cpu_seconds() - cpu0;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = elapsed > 0 ? static_cast<double>(totals.valid) / elapsed : 0;
    const std::string name = to_string(*hp);
    const char* mode = co.websocket ? "websocket" : "http";
    const double p50 = static_cast<double>(totals.latency.quantile(0.5)) / 1e3;
    const double p99 = static_cast<double>(totals.latency.quantile(0.99)) / 1e3;
    if (json)
        std::printf("{\"server\":\"%s\",\"mode\":\"%s\",\"connections\":%u,\"elapsed_s\":%.6f,\"valid\":%" PRIu64
                    ",\"invalid\":%" PRIu64 ",\"connection_errors\":%" PRIu64 ",\"connects\":%" PRIu64
                    ",\"responses_per_s\":%.1f,\"latency_p50_us\":%.1f,\"latency_p99_us\":%.1f,\"cpu_s\":%.3f}\n",
                    name.c_str(), mode, connections, elapsed, totals.valid, totals.invalid, totals.conn_errors,
                    totals.connects, rate, p50, p99, cpu);
    else
        std::printf("%s %s: %.2f s, %u connections: valid %" PRIu64 " (%.0f/s), invalid %" PRIu64
                    ", connection errors %" PRIu64 ", connects %" PRIu64 "; latency p50 %.0f us p99 %.0f us; loadgen cpu %.2f s\n",
                    name.c_str(), mode, elapsed, connections, totals.valid, rate, totals.invalid, totals.conn_errors,
                    totals.connects, p50, p99, cpu);
    std::fflush(stdout);
    if (totals.conn_errors > 0)
        log::warnx("%s: %" PRIu64 " connection errors; the first: %s", name.c_str(), totals.conn_errors, totals.first_error.c_str());
    if (totals.invalid > 0)
        log::warnx("%s: %" PRIu64 " replies did not count; the first: %s", name.c_str(), totals.invalid, totals.first_invalid.c_str());
    if (totals.valid == 0) log::fatalx(EX_UNAVAILABLE, "%s: no valid reply", name.c_str());
    return totals.invalid > 0 ? EX_PROTOCOL : 0;
}
