// roughtime-loadgen: closed-loop Roughtime load generator for the benchmarks (bench/README.md).
//
//   roughtime-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]
//                     [--version-set SET] [--verify-every K] [--sample N] [-o text|json] [--json]
//                     [-v] HOST:PORT PUBKEY
//
// Prints one summary line (text) or one JSON object, including how many replies were verified
// (and how many failed: any failure makes the exit status 76), the client's verification time
// per response, and this process's own CPU time.
#include <getopt.h>

#include <cinttypes>
#include <cstdio>
#include <string>
#include <string_view>

#include "bench/loadcore/options.hpp"
#include "bench/roughtime-loadgen/loadgen.hpp"
#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/roughtime/keyfile.hpp"
#include "libtime/roughtime/version_set.hpp"
#include "libtime/sys/signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
namespace rt = timepipe::bench::rt;

namespace {

constexpr std::uint16_t kDefaultPort = 2002;

void usage(std::FILE* out) {
    std::fputs(
        "usage: roughtime-loadgen [-c CONCURRENCY] [-d DURATION] [-n REQUESTS] [-s SOCKETS] [-t TIMEOUT]\n"
        "                         [--version-set SET] [--verify-every K] [--sample N] [-o text|json]\n"
        "                         [--json] [-v] HOST:PORT PUBKEY\n"
        "Keeps CONCURRENCY Roughtime requests outstanding against HOST:PORT (default port 2002),\n"
        "verifies a sample of the replies against PUBKEY (base64 or hex), and reports responses\n"
        "per second, verification results and time, latency, losses and its own CPU time.\n"
        "  -c, --concurrency N    requests outstanding at once (default 128, at most 4096)\n"
        "  -d, --duration T       stop after T (default 5s, at most 600s); 1.5, 250ms, 2s\n"
        "  -n, --requests N       stop after N valid replies (default: no limit)\n"
        "  -s, --sockets N        UDP sockets (source ports) to spread requests over (default 4)\n"
        "  -t, --timeout T        resend a request unanswered after T, counting it lost (default 500ms)\n"
        "      --version-set SET  versions to offer: rfc, draft-12, draft-11, draft-08, google,\n"
        "                         ietf, comma-separated (default rfc)\n"
        "      --verify-every K   verify about every K-th reply as it arrives (default 64; 0: none)\n"
        "      --sample N         verify N replies kept at random after the run, timed (default 512)\n"
        "  -o, --output FORMAT    text (default) or json: one object on one line\n"
        "      --json             same as -o json\n"
        "  -v, --verbose          more messages on stderr\n"
        "  -h, --help             print this help\n"
        "  -V, --version          print the version\n"
        "Exit status: 0, 64 bad usage, 68 host does not resolve, 69 no valid reply, 71 socket error,\n"
        "76 a reply failed verification.\n",
        out);
}

std::string version_names(const std::vector<roughtime::Version>& vs) {
    std::string s;
    for (auto v : vs) {
        if (!s.empty()) s += ',';
        s += roughtime::short_name(v);
    }
    return s;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    rt::Config cfg;
    cfg.versions = {roughtime::Version::Rfc};
    bool json = false;

    enum { kVersionSet = bench::kOptJson + 1, kVerifyEvery, kSample };
    static const option long_options[] = {
        {"concurrency", required_argument, nullptr, 'c'},
        {"duration", required_argument, nullptr, 'd'},
        {"requests", required_argument, nullptr, 'n'},
        {"sockets", required_argument, nullptr, 's'},
        {"timeout", required_argument, nullptr, 't'},
        {"version-set", required_argument, nullptr, kVersionSet},
        {"verify-every", required_argument, nullptr, kVerifyEvery},
        {"sample", required_argument, nullptr, kSample},
        {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, bench::kOptJson},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // one line of our own instead of getopt's message
    int c;
    while ((c = getopt_long(argc, argv, ":c:d:n:s:t:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case kVersionSet: {
            auto vs = roughtime::parse_version_set(optarg);
            if (!vs) log::fatalx(EX_USAGE, "--version-set: %s", vs.error().what.c_str());
            cfg.versions = std::move(*vs);
            break;
        }
        case kVerifyEvery:
            if (auto n = bench::parse_count(optarg, 0, 1'000'000)) cfg.verify_every = static_cast<unsigned>(*n);
            else log::fatalx(EX_USAGE, "--verify-every: \"%s\" is not a count from 0 to 1000000", optarg);
            break;
        case kSample:
            if (auto n = bench::parse_count(optarg, 0, rt::kMaxSample)) cfg.sample = static_cast<unsigned>(*n);
            else log::fatalx(EX_USAGE, "--sample: \"%s\" is not a count from 0 to %u", optarg, rt::kMaxSample);
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            std::printf("roughtime-loadgen %s\n", TIMEPIPE_VERSION);
            return 0;
        default:
            if (!bench::take_common_option(c, optarg, cfg, cfg.sockets, json))
                getopt_failure(c, argv);
        }
    }
    if (argc - optind != 2)
        log::fatalx(EX_USAGE, "%s (see -h)",
                    argc - optind < 1   ? "missing HOST:PORT and PUBKEY"
                    : argc - optind < 2 ? "missing PUBKEY"
                                        : "too many arguments: HOST:PORT PUBKEY");
    if (cfg.sockets > cfg.concurrency) cfg.sockets = cfg.concurrency;  // an idle socket measures nothing
    if (!crypto::init()) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");

    const char* target = argv[optind];
    auto key = roughtime::parse_public_key(argv[optind + 1]);
    if (!key) log::fatalx(EX_USAGE, "public key: %s", key.error().what.c_str());  // never quoted
    cfg.server_key = *key;
    cfg.server = bench::resolve_target_or_die(target, kDefaultPort);
    const std::string server = cfg.server.to_string();
    const std::string versions = version_names(cfg.versions);

    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    log::info("%s: %u outstanding over %u sockets for %.3f s, offering %s", server.c_str(), cfg.concurrency,
              cfg.sockets, static_cast<double>(cfg.duration_ns) / 1e9, versions.c_str());
    auto r = rt::run_load(cfg, stop_requested());
    if (!r) log::fatalx(r.error().exit_code, "%s: %s", server.c_str(), r.error().what.c_str());
    const rt::Stats& st = *r;

    const double rate = st.elapsed_s > 0 ? static_cast<double>(st.valid) / st.elapsed_s : 0;
    const double cpu = st.cpu_user_s + st.cpu_sys_s;
    const double cpu_us_per = st.valid > 0 ? cpu * 1e6 / static_cast<double>(st.valid) : 0;
    const double p50 = static_cast<double>(st.latency.quantile(0.50)) / 1e3;
    const double p99 = static_cast<double>(st.latency.quantile(0.99)) / 1e3;
    const std::uint64_t sampled = st.sample_verified + st.sample_failed;
    const double verify_us = sampled > 0 ? st.verify_s * 1e6 / static_cast<double>(sampled) : 0;
    const double verify_cpu_us = sampled > 0 ? st.verify_cpu_s * 1e6 / static_cast<double>(sampled) : 0;
    if (json) {
        // first_failure is one of libtime's fixed phrases: nothing to escape.
        std::printf("{\"server\":\"%s\",\"versions\":\"%s\",\"concurrency\":%u,\"sockets\":%u,\"elapsed_s\":%.6f,"
                    "\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"valid\":%" PRIu64 ",\"lost\":%" PRIu64
                    ",\"late\":%" PRIu64 ",\"invalid\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"outstanding\":%" PRIu64
                    ",\"responses_per_s\":%.1f,\"verify_every\":%u,\"verified\":%" PRIu64 ",\"failed\":%" PRIu64
                    ",\"sample_verified\":%" PRIu64 ",\"sample_failed\":%" PRIu64
                    ",\"verify_us_per_response\":%.2f,\"verify_cpu_us_per_response\":%.2f,\"first_failure\":\"%s\","
                    "\"latency_p50_us\":%.1f,\"latency_p99_us\":%.1f,\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,"
                    "\"cpu_s\":%.3f,\"cpu_us_per_response\":%.3f}\n",
                    server.c_str(), versions.c_str(), cfg.concurrency, cfg.sockets, st.elapsed_s, st.sent, st.received,
                    st.valid, st.lost, st.late, st.invalid, st.refused, st.outstanding, rate, cfg.verify_every,
                    st.verified, st.failed, st.sample_verified, st.sample_failed, verify_us, verify_cpu_us,
                    st.first_failure.c_str(), p50, p99, st.cpu_user_s, st.cpu_sys_s, cpu, cpu_us_per);
    } else {
        std::printf("%s: %.2f s, c=%u s=%u %s: sent %" PRIu64 ", received %" PRIu64 ", valid %" PRIu64
                    " (%.0f/s), lost %" PRIu64 ", late %" PRIu64 ", invalid %" PRIu64 "; verified %" PRIu64
                    ", failed %" PRIu64 "; sample verified %" PRIu64 "/%" PRIu64 " at %.1f us each;"
                    " latency p50 %.1f us, p99 %.1f us; loadgen cpu %.2f s (%.2f us/response)\n",
                    server.c_str(), st.elapsed_s, cfg.concurrency, cfg.sockets, versions.c_str(), st.sent, st.received,
                    st.valid, rate, st.lost, st.late, st.invalid, st.verified, st.failed, st.sample_verified, sampled,
                    verify_us, p50, p99, cpu, cpu_us_per);
    }
    std::fflush(stdout);
    if (st.failed > 0 || st.sample_failed > 0)
        log::fatalx(EX_PROTOCOL, "%s: %" PRIu64 " replies failed verification: %s", server.c_str(),
                    st.failed + st.sample_failed, st.first_failure.c_str());
    if (st.valid == 0) {
        if (st.refused > 0) log::fatalx(EX_UNAVAILABLE, "%s: no valid reply (connection refused)", server.c_str());
        log::fatalx(EX_UNAVAILABLE, "%s: no valid reply", server.c_str());
    }
    return 0;
}
