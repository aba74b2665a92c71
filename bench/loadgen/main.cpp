// ntp-loadgen: NTP load generator for the benchmarks (bench/README.md): closed loop by
// default, open loop (Poisson arrivals at a fixed rate) with -r.
//
//   ntp-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]
//               [-r RATE [--seed N]] [-S] [--nts [--ca-file FILE]] [-o text|json] [--json] [-v]
//               HOST:PORT
//
// Prints one summary line (text) or one JSON object, including this process's own CPU time
// (on a small machine the load generator competes with the server it measures) and the lag of
// the server's transmit timestamps behind the replies' kernel receive times (loadgen.hpp).
#include <getopt.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "bench/loadcore/options.hpp"
#include "bench/loadgen/loadgen.hpp"
#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/nts/ke_client.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* out) {
    std::fputs(
        "usage: ntp-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]\n"
        "                   [-r RATE [--seed N]] [-S] [--nts [--ca-file FILE]] [-o text|json]\n"
        "                   [--json] [-v] HOST:PORT\n"
        "Sends NTPv4 client requests to HOST:PORT and reports responses per second, latency,\n"
        "losses, its own CPU time and the transmit-timestamp lag (kernel receive time of each reply\n"
        "minus its transmit timestamp; loopback only). Closed loop by default: CONCURRENCY requests\n"
        "outstanding, each reply sends the next. With -r, open loop: RATE requests per second at\n"
        "Poisson-distributed times fixed in advance, whenever the replies come; a request whose\n"
        "time comes while CONCURRENCY are outstanding is skipped (counted, never sent late), and a\n"
        "lost one is not sent again.\n"
        "  -c, --concurrency N   requests kept outstanding; with -r, the most outstanding at once\n"
        "                        (a request due beyond it is skipped) (default 64, at most 4096)\n"
        "  -d, --duration T      stop after T (default 5s, at most 600s); 1.5, 250ms, 2s\n"
        "  -n, --requests N      stop after N completed exchanges (default: no limit)\n"
        "  -s, --sockets N       UDP sockets (source ports) to spread requests over (default 4)\n"
        "  -t, --timeout T       count a request unanswered after T lost; without -r, send it again\n"
        "                        (default 200ms)\n"
        "  -r, --rate N          open loop: offer N requests per second, exponential gaps of mean\n"
        "                        1/N (default: closed loop, as fast as replies come back)\n"
        "      --seed N          seed of the -r schedule, 0 to 2^64-1 (default 1: runs repeat)\n"
        "  -S, --spread          socket i sends from 127.0.0.(i+1): the server sees SOCKETS clients\n"
        "                        (an IPv4 loopback server only; at most 254 sockets)\n"
        "      --nts             NTS (RFC 8915): HOST:PORT is the NTS-KE server (default port\n"
        "                        4460); one key exchange first, then every request carries a\n"
        "                        cookie and an authenticator and asks for one new cookie, and\n"
        "                        only authenticated replies are valid\n"
        "      --ca-file FILE    --nts: trust the CAs in FILE instead of the system's\n"
        "  -o, --output FORMAT   text (default) or json: one object on one line\n"
        "      --json            same as -o json\n"
        "  -v, --verbose         more messages on stderr\n"
        "  -h, --help            print this help\n"
        "  -V, --version         print the version\n"
        "Exit status: 0, 64 bad usage, 68 host does not resolve, 69 no valid reply, 71 socket error,\n"
        "76 the NTS key exchange failed.\n",
        out);
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    bench::Config cfg;
    bool json = false;

    bool nts = false;
    nts::KeClientOptions ke;
    enum { kSeed = bench::kOptJson + 1, kNts, kCaFile };
    static const option long_options[] = {
        {"concurrency", required_argument, nullptr, 'c'},
        {"duration", required_argument, nullptr, 'd'},
        {"requests", required_argument, nullptr, 'n'},
        {"sockets", required_argument, nullptr, 's'},
        {"timeout", required_argument, nullptr, 't'},
        {"spread", no_argument, nullptr, 'S'},
        {"rate", required_argument, nullptr, 'r'},
        {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, bench::kOptJson},
        {"seed", required_argument, nullptr, kSeed},
        {"nts", no_argument, nullptr, kNts},
        {"ca-file", required_argument, nullptr, kCaFile},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // one line of our own instead of getopt's message
    int c;
    while ((c = getopt_long(argc, argv, ":c:d:n:s:t:o:vSr:hV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'S':
            cfg.spread_sources = true;
            break;
        case 'r':
            if (auto n = bench::parse_count(optarg, 1, 100'000'000)) cfg.rate = static_cast<double>(*n);
            else log::fatalx(EX_USAGE, "-r: \"%s\" is not a rate from 1 to 100000000 per second", optarg);
            break;
        case kSeed:
            if (auto n = bench::parse_count(optarg, 0, UINT64_MAX)) cfg.seed = *n;
            else log::fatalx(EX_USAGE, "--seed: \"%s\" is not a number from 0 to 18446744073709551615", optarg);
            break;
        case kNts:
            nts = true;
            break;
        case kCaFile:
            ke.ca_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            std::printf("ntp-loadgen %s\n", TIMEPIPE_VERSION);
            return 0;
        default:
            if (!bench::take_common_option(c, optarg, cfg, cfg.sockets, json))
                getopt_failure(c, argv);
        }
    }
    if (optind != argc - 1)
        log::fatalx(EX_USAGE, "%s (see -h)", optind == argc ? "missing HOST:PORT" : "more than one HOST:PORT");
    if (cfg.sockets > cfg.concurrency)
        cfg.sockets = cfg.concurrency;  // an idle socket measures nothing

    if (!ke.ca_file.empty() && !nts)
        log::fatalx(EX_USAGE, "--ca-file: only with --nts");
    const char* target = argv[optind];
    if (nts) {
        // The key exchange names the NTP server and port (its Server and Port records).
        auto hp = parse_host_port(target);
        if (!hp)
            log::fatalx(EX_USAGE, "%s: %s", target, hp.error().what.c_str());
        if (!hp->port)
            hp->port = nts::kNtsKePort;
        auto r = nts::nts_key_exchange(*hp, ke);
        if (!r)
            log::fatalx(r.error().exit_code, "%s", r.error().what.c_str());
        if (r->response.cookies.empty())
            log::fatalx(EX_PROTOCOL, "%s: the key exchange gave no cookie", target);
        cfg.nts = bench::NtsSetup{r->keys, r->response.cookies};
        std::string ntp = to_string(HostPort{r->ntp_host, r->ntp_port});
        log::info("%s: NTS-KE gave %zu cookies, %s, NTP at %s", target, r->response.cookies.size(),
                  std::string(nts::aead_name(r->aead)).c_str(), ntp.c_str());
        cfg.server = bench::resolve_target_or_die(ntp.c_str(), r->ntp_port);
    } else {
        cfg.server = bench::resolve_target_or_die(target, 123);
    }
    if (cfg.spread_sources) {
        if (!cfg.server.is_v4() || !cfg.server.is_loopback())
            log::fatalx(EX_USAGE, "%s: -S needs an IPv4 loopback server", target);
        if (cfg.sockets > bench::kMaxSpreadSockets)
            log::fatalx(EX_USAGE, "-S: at most %u sockets", bench::kMaxSpreadSockets);
    }
    std::string server = cfg.server.to_string();

    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    if (cfg.rate > 0)
        log::info("%s: %.0f requests/s (seed %" PRIu64 "), at most %u outstanding over %u sockets for %.3f s",
                  server.c_str(), cfg.rate, cfg.seed, cfg.concurrency, cfg.sockets,
                  static_cast<double>(cfg.duration_ns) / 1e9);
    else
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
    double send50 = static_cast<double>(st.send_lag.quantile(0.50)) / 1e3;
    double send99 = static_cast<double>(st.send_lag.quantile(0.99)) / 1e3;
    if (json) {
        // rate_limit: the offered rate of -r (the key keeps its old name for existing readers).
        std::printf("{\"server\":\"%s\",\"concurrency\":%u,\"sockets\":%u,\"rate_limit\":%.0f,\"seed\":%" PRIu64
                    ",\"elapsed_s\":%.6f,\"scheduled\":%" PRIu64 ",\"skipped\":%" PRIu64
                    ",\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"valid\":%" PRIu64 ",\"kod\":%" PRIu64
                    ",\"lost\":%" PRIu64 ",\"late\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"refused\":%" PRIu64
                    ",\"outstanding\":%" PRIu64 ",\"dropped_here\":%" PRIu64 ",\"responses_per_s\":%.1f,\"latency_p50_us\":%.1f,"
                    "\"latency_p99_us\":%.1f,\"send_lag_p50_us\":%.2f,\"send_lag_p99_us\":%.2f,"
                    "\"tx_lag_p50_us\":%.2f,\"tx_lag_p99_us\":%.2f,"
                    "\"tx_lag_samples\":%" PRIu64 ",\"tx_lag_negative\":%" PRIu64 ",\"cpu_user_s\":%.3f,"
                    "\"cpu_sys_s\":%.3f,\"cpu_s\":%.3f,\"cpu_us_per_response\":%.3f,\"spin_s\":%.3f,"
                    "\"nts\":%s,\"nts_nak\":%" PRIu64 ",\"nts_invalid\":%" PRIu64 "}\n",
                    server.c_str(), cfg.concurrency, cfg.sockets, cfg.rate, cfg.seed, st.elapsed_s, st.scheduled,
                    st.skipped, st.sent, st.received, st.valid, st.kod, st.lost, st.late, st.invalid, st.refused,
                    st.outstanding, st.dropped_here, rate, p50, p99, send50, send99, lag50, lag99, st.tx_lag.count(),
                    st.tx_lag_negative, st.cpu_user_s, st.cpu_sys_s, cpu, cpu_us_per, st.spin_s,
                    nts ? "true" : "false", st.nts_nak, st.nts_invalid);
    } else {
        std::string open_loop;
        if (cfg.rate > 0) {
            char buf[160];
            std::snprintf(buf, sizeof buf, " r=%.0f seed=%" PRIu64, cfg.rate, cfg.seed);
            open_loop = buf;
        }
        std::printf("%s: %.2f s, c=%u s=%u%s: sent %" PRIu64 ", received %" PRIu64 ", valid %" PRIu64 " (%.0f/s), kod %" PRIu64
                    ", lost %" PRIu64 ", late %" PRIu64 ", invalid %" PRIu64 ", skipped %" PRIu64,
                    server.c_str(), st.elapsed_s, cfg.concurrency, cfg.sockets, open_loop.c_str(), st.sent,
                    st.received, st.valid, rate, st.kod, st.lost, st.late, st.invalid, st.skipped);
        if (cfg.rate > 0)
            std::printf(" of %" PRIu64 " scheduled", st.scheduled);
        if (st.dropped_here > 0)
            std::printf(", dropped at our sockets %" PRIu64, st.dropped_here);
        if (nts)
            std::printf(", NTS NAK %" PRIu64 ", unauthenticated %" PRIu64, st.nts_nak, st.nts_invalid);
        std::printf("; latency p50 %.1f us, p99 %.1f us;", p50, p99);
        if (cfg.rate > 0)
            std::printf(" send lag p50 %.1f us, p99 %.1f us;", send50, send99);
        std::printf(" tx lag p50 %.2f us, p99 %.2f us (%" PRIu64 " negative); loadgen cpu %.2f s (%.2f us/response",
                    lag50, lag99, st.tx_lag_negative, cpu, cpu_us_per);
        if (cfg.rate > 0)
            std::printf("; %.2f s of it spinning before sends", st.spin_s);
        std::printf(")\n");
    }
    std::fflush(stdout);
    if (st.valid == 0) {
        if (st.refused > 0)
            log::fatalx(EX_UNAVAILABLE, "%s: no valid reply (connection refused)", server.c_str());
        log::fatalx(EX_UNAVAILABLE, "%s: no valid reply", server.c_str());
    }
    return 0;
}
