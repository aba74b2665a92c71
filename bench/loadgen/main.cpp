// ntp-loadgen: closed-loop NTP load generator for the benchmarks (bench/README.md).
//
//   ntp-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]
//               [-r RATE] [-S] [-o text|json] [--json] [-v] HOST:PORT
//
// Prints one summary line (text) or one JSON object, including this process's own CPU time
// (on a small machine the load generator competes with the server it measures) and the lag of
// the server's transmit timestamps behind the replies' kernel receive times (loadgen.hpp).
#include <getopt.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/loadgen/loadgen.hpp"
#include "libtime/duration.hpp"
#include "libtime/host_port.hpp"
#include "libtime/log.hpp"
#include "libtime/sys_resolve.hpp"
#include "libtime/sys_signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* out) {
    std::fputs(
        "usage: ntp-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]\n"
        "                   [-r RATE] [-S] [-o text|json] [--json] [-v] HOST:PORT\n"
        "Keeps CONCURRENCY NTPv4 client requests outstanding against HOST:PORT and reports\n"
        "responses per second, latency, losses, its own CPU time and the transmit-timestamp lag\n"
        "(kernel receive time of each reply minus its transmit timestamp; loopback only).\n"
        "  -c, --concurrency N   requests outstanding at once (default 64, at most 4096)\n"
        "  -d, --duration T      stop after T (default 5s, at most 600s); 1.5, 250ms, 2s\n"
        "  -n, --requests N      stop after N completed exchanges (default: no limit)\n"
        "  -s, --sockets N       UDP sockets (source ports) to spread requests over (default 4)\n"
        "  -t, --timeout T       resend a request unanswered after T, counting it lost (default 200ms)\n"
        "  -r, --rate N          send at most N new requests per second (default: no limit)\n"
        "  -S, --spread          socket i sends from 127.0.0.(i+1): the server sees SOCKETS clients\n"
        "                        (an IPv4 loopback server only; at most 254 sockets)\n"
        "  -o, --output FORMAT   text (default) or json: one object on one line\n"
        "      --json            same as -o json\n"
        "  -v, --verbose         more messages on stderr\n"
        "  -h, --help            print this help\n"
        "  -V, --version         print the version\n"
        "Exit status: 0, 64 bad usage, 68 host does not resolve, 69 no valid reply, 71 socket error.\n",
        out);
}

// A duration (libtime/duration.hpp) from lo to hi nanoseconds.
std::optional<std::int64_t> parse_duration_in(const char* text, std::int64_t lo, std::int64_t hi) {
    auto d = parse_duration(text);
    if (!d || d->count() < lo || d->count() > hi) return std::nullopt;
    return d->count();
}

std::optional<std::uint64_t> parse_count(const char* text, std::uint64_t min, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long n = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || n < min || n > max)
        return std::nullopt;
    return n;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    bench::Config cfg;
    bool json = false;

    enum { kJson = 1000 };
    static const option long_options[] = {
        {"concurrency", required_argument, nullptr, 'c'},
        {"duration", required_argument, nullptr, 'd'},
        {"requests", required_argument, nullptr, 'n'},
        {"sockets", required_argument, nullptr, 's'},
        {"timeout", required_argument, nullptr, 't'},
        {"spread", no_argument, nullptr, 'S'},
        {"rate", required_argument, nullptr, 'r'},
        {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, kJson},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // one line of our own instead of getopt's message
    int c;
    while ((c = getopt_long(argc, argv, ":c:d:n:s:t:Sr:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'c':
            if (auto n = parse_count(optarg, 1, bench::kMaxConcurrency)) cfg.concurrency = static_cast<unsigned>(*n);
            else log::fatalx(EX_USAGE, "-c: \"%s\" is not a count from 1 to %u", optarg, bench::kMaxConcurrency);
            break;
        case 'd':
            if (auto d = parse_duration_in(optarg, 1, 600 * kNanosPerSecond)) cfg.duration_ns = *d;
            else log::fatalx(EX_USAGE, "-d: \"%s\" is not a duration up to 600s", optarg);
            break;
        case 'n':
            if (auto n = parse_count(optarg, 1, UINT64_MAX)) cfg.requests = *n;
            else log::fatalx(EX_USAGE, "-n: \"%s\" is not a positive count", optarg);
            break;
        case 's':
            if (auto n = parse_count(optarg, 1, bench::kMaxSockets)) cfg.sockets = static_cast<unsigned>(*n);
            else log::fatalx(EX_USAGE, "-s: \"%s\" is not a count from 1 to %u", optarg, bench::kMaxSockets);
            break;
        case 't':
            if (auto d = parse_duration_in(optarg, 1'000'000, 60 * kNanosPerSecond)) cfg.timeout_ns = *d;
            else log::fatalx(EX_USAGE, "-t: \"%s\" is not a duration from 1ms to 60s", optarg);
            break;
        case 'S':
            cfg.spread_sources = true;
            break;
        case 'r':
            if (auto n = parse_count(optarg, 1, 100'000'000)) cfg.rate = static_cast<double>(*n);
            else log::fatalx(EX_USAGE, "-r: \"%s\" is not a rate from 1 to 100000000 per second", optarg);
            break;
        case 'o':
            if (std::string_view(optarg) == "json") json = true;
            else if (std::string_view(optarg) == "text") json = false;
            else log::fatalx(EX_USAGE, "-o: unknown output format \"%s\" (text or json)", optarg);
            break;
        case kJson:
            json = true;
            break;
        case 'v':
            log::set_verbosity(log::verbosity() + 1);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            std::printf("ntp-loadgen %s\n", TIMEPIPE_VERSION);
            return 0;
        case ':':
            log::fatalx(EX_USAGE, "%s: missing value (see -h)", argv[optind - 1]);
        default:
            if (optopt != 0) log::fatalx(EX_USAGE, "-%c: unknown option (see -h)", optopt);
            log::fatalx(EX_USAGE, "%s: unknown option (see -h)", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        log::fatalx(EX_USAGE, "%s (see -h)", optind == argc ? "missing HOST:PORT" : "more than one HOST:PORT");
    if (cfg.sockets > cfg.concurrency)
        cfg.sockets = cfg.concurrency;  // an idle socket measures nothing

    const char* target = argv[optind];
    auto hp = parse_host_port(target);
    if (!hp)
        log::fatalx(hp.error().exit_code, "%s: %s", target, hp.error().what.c_str());
    if (hp->port && *hp->port == 0)
        log::fatalx(EX_USAGE, "%s: port 0", target);
    auto addrs = resolve(*hp, 123);
    if (!addrs)
        log::fatalx(addrs.error().exit_code, "%s: %s", target, addrs.error().what.c_str());
    cfg.server = addrs->front();
    if (cfg.spread_sources) {
        if (!cfg.server.is_v4() || !cfg.server.is_loopback())
            log::fatalx(EX_USAGE, "%s: -S needs an IPv4 loopback server", target);
        if (cfg.sockets > bench::kMaxSpreadSockets)
            log::fatalx(EX_USAGE, "-S: at most %u sockets", bench::kMaxSpreadSockets);
    }
    std::string server = cfg.server.to_string();

    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    log::info("%s: %u outstanding over %u sockets for %.3f s", server.c_str(), cfg.concurrency, cfg.sockets,
              static_cast<double>(cfg.duration_ns) / 1e9);
    auto r = bench::run_load(cfg, stop_requested());
    if (!r)
        log::fatalx(r.error().exit_code, "%s: %s", server.c_str(), r.error().what.c_str());
    const bench::Stats& st = *r;

    double rate = st.elapsed_s > 0 ? static_cast<double>(st.valid) / st.elapsed_s : 0;
    double cpu = st.cpu_user_s + st.cpu_sys_s;
    double cpu_us_per = st.valid > 0 ? cpu * 1e6 / static_cast<double>(st.valid) : 0;
    double p50 = static_cast<double>(st.latency.quantile(0.50)) / 1e3;
    double p99 = static_cast<double>(st.latency.quantile(0.99)) / 1e3;
    double lag50 = static_cast<double>(st.tx_lag.quantile(0.50)) / 1e3;
    double lag99 = static_cast<double>(st.tx_lag.quantile(0.99)) / 1e3;
    if (json) {
        std::printf("{\"server\":\"%s\",\"concurrency\":%u,\"sockets\":%u,\"rate_limit\":%.0f,\"elapsed_s\":%.6f,"
                    "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"valid\":%" PRIu64 ",\"kod\":%" PRIu64
                    ",\"lost\":%" PRIu64 ",\"late\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"refused\":%" PRIu64
                    ",\"outstanding\":%" PRIu64 ",\"responses_per_s\":%.1f,\"latency_p50_us\":%.1f,"
                    "\"latency_p99_us\":%.1f,\"tx_lag_p50_us\":%.2f,\"tx_lag_p99_us\":%.2f,"
                    "\"tx_lag_samples\":%" PRIu64 ",\"tx_lag_negative\":%" PRIu64 ",\"cpu_user_s\":%.3f,"
                    "\"cpu_sys_s\":%.3f,\"cpu_s\":%.3f,\"cpu_us_per_response\":%.3f}\n",
                    server.c_str(), cfg.concurrency, cfg.sockets, cfg.rate, st.elapsed_s, st.sent, st.received, st.valid,
                    st.kod, st.lost, st.late, st.invalid, st.refused, st.outstanding, rate, p50, p99, lag50, lag99,
                    st.tx_lag.count(), st.tx_lag_negative, st.cpu_user_s, st.cpu_sys_s, cpu, cpu_us_per);
    } else {
        std::printf("%s: %.2f s, c=%u s=%u: sent %" PRIu64 ", received %" PRIu64 ", valid %" PRIu64 " (%.0f/s), kod %" PRIu64
                    ", lost %" PRIu64 ", late %" PRIu64 ", invalid %" PRIu64 "; latency p50 %.1f us, p99 %.1f us;"
                    " tx lag p50 %.2f us, p99 %.2f us (%" PRIu64 " negative); loadgen cpu %.2f s (%.2f us/response)\n",
                    server.c_str(), st.elapsed_s, cfg.concurrency, cfg.sockets, st.sent, st.received, st.valid, rate,
                    st.kod, st.lost, st.late, st.invalid, p50, p99, lag50, lag99, st.tx_lag_negative, cpu, cpu_us_per);
    }
    std::fflush(stdout);
    if (st.valid == 0) {
        if (st.refused > 0)
            log::fatalx(EX_UNAVAILABLE, "%s: no valid reply (connection refused)", server.c_str());
        log::fatalx(EX_UNAVAILABLE, "%s: no valid reply", server.c_str());
    }
    return 0;
}
