// nts-ke-loadgen: NTS-KE load generator for the benchmarks (bench/README.md): CONCURRENCY
// threads each run complete key exchanges (RFC 8915 §4: TLS 1.3 handshake, request, 8 cookies,
// keys exported) one after another against one server for DURATION, with libtime's NTS-KE
// client — what every NTS client does once at start and whenever its cookies run out.
//
//   nts-ke-loadgen [-c CONCURRENCY] [-d DURATION] [--ca-file FILE] [-o text|json] [--json] HOST[:PORT]
//
// Prints one summary line (text) or one JSON object: handshakes completed and failed, per
// second, and this process's own CPU time. The server's CPU per handshake is the caller's to
// measure (bench/nts-vs-chronyd reads it from /proc).
#include <getopt.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bench/loadcore/engine.hpp"
#include "bench/loadcore/options.hpp"
#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/nts/ke_client.hpp"
#include "libtime/sys/signal.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

constexpr unsigned kMaxThreads = 64;

void usage(std::FILE* out) {
    std::fputs(
        "usage: nts-ke-loadgen [-c CONCURRENCY] [-d DURATION] [--ca-file FILE] [-o text|json]\n"
        "                      [--json] HOST[:PORT]\n"
        "Runs complete NTS key exchanges (TLS 1.3, ntske/1, 8 cookies, keys exported) against the\n"
        "NTS-KE server HOST:PORT (default port 4460), CONCURRENCY at a time, each thread starting\n"
        "the next when one ends, and reports handshakes per second and its own CPU time.\n"
        "  -c, --concurrency N   key exchanges at once, one thread each (default 2, at most 64)\n"
        "  -d, --duration T      stop after T (default 5s, at most 600s); 1.5, 250ms, 2s\n"
        "      --ca-file FILE    trust the CAs in FILE instead of the system's\n"
        "  -o, --output FORMAT   text (default) or json: one object on one line\n"
        "      --json            same as -o json\n"
        "  -h, --help            print this help\n"
        "  -V, --version         print the version\n"
        "Exit status: 0, 64 bad usage, 69 no key exchange completed (the first error is printed).\n",
        out);
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    unsigned threads = 2;
    bench::LoadShape shape;  // only its duration is used
    unsigned sockets_unused = 0;
    bool json = false;
    nts::KeClientOptions ke;

    enum { kCaFile = bench::kOptJson + 1 };
    static const option long_options[] = {
        {"concurrency", required_argument, nullptr, 'c'}, {"duration", required_argument, nullptr, 'd'},
        {"ca-file", required_argument, nullptr, kCaFile},  {"output", required_argument, nullptr, 'o'},
        {"json", no_argument, nullptr, bench::kOptJson},             {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},            {nullptr, 0, nullptr, 0},
    };
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:d:o:hV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'c':
            if (auto n = bench::parse_count(optarg, 1, kMaxThreads)) threads = static_cast<unsigned>(*n);
            else log::fatalx(EX_USAGE, "-c: \"%s\" is not a count from 1 to %u", optarg, kMaxThreads);
            break;
        case kCaFile: ke.ca_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("nts-ke-loadgen %s\n", TIMEPIPE_VERSION); return 0;
        default:  // -d, -o, --json as the other load generators take them
            if (!bench::take_common_option(c, optarg, shape, sockets_unused, json)) getopt_failure(c, argv);
        }
    }
    if (optind != argc - 1)
        log::fatalx(EX_USAGE, "%s (see -h)", optind == argc ? "missing HOST[:PORT]" : "more than one server");
    auto hp = parse_host_port(argv[optind]);
    if (!hp) log::fatalx(EX_USAGE, "%s: %s", argv[optind], hp.error().what.c_str());
    if (!hp->port) hp->port = nts::kNtsKePort;
    if (*hp->port == 0) log::fatalx(EX_USAGE, "%s: port 0", argv[optind]);
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    const std::string server = to_string(*hp);

    std::atomic<std::uint64_t> done{0}, failed{0};
    std::atomic<bool> have_error{false};
    std::string first_error;
    const auto start = std::chrono::steady_clock::now();
    const auto end = start + std::chrono::nanoseconds(shape.duration_ns);
    bench::CpuTime cpu0 = bench::process_cpu_time();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            while (std::chrono::steady_clock::now() < end && !stop_requested()) {
                auto r = nts::nts_key_exchange(*hp, ke);
                if (r && !r->response.cookies.empty()) {
                    done.fetch_add(1, std::memory_order_relaxed);
                    continue;
                }
                failed.fetch_add(1, std::memory_order_relaxed);
                if (!have_error.exchange(true))
                    first_error = r ? "no cookie in the response" : r.error().what;
            }
        });
    for (auto& w : workers) w.join();
    bench::CpuTime cpu1 = bench::process_cpu_time();
    double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = (cpu1.user - cpu0.user) + (cpu1.sys - cpu0.sys);
    std::uint64_t ok = done.load(), bad = failed.load();
    double rate = elapsed > 0 ? static_cast<double>(ok) / elapsed : 0;
    if (json)
        std::printf("{\"server\":\"%s\",\"concurrency\":%u,\"elapsed_s\":%.6f,\"handshakes\":%" PRIu64
                    ",\"failed\":%" PRIu64 ",\"handshakes_per_s\":%.1f,\"cpu_s\":%.3f,\"cpu_us_per_handshake\":%.1f}\n",
                    server.c_str(), threads, elapsed, ok, bad, rate, cpu, ok ? cpu * 1e6 / static_cast<double>(ok) : 0.0);
    else
        std::printf("%s: %.2f s, c=%u: %" PRIu64 " key exchanges (%.0f/s), %" PRIu64
                    " failed; loadgen cpu %.2f s (%.0f us/handshake)\n",
                    server.c_str(), elapsed, threads, ok, rate, bad, cpu,
                    ok ? cpu * 1e6 / static_cast<double>(ok) : 0.0);
    std::fflush(stdout);
    if (bad > 0) log::warnx("%s: %" PRIu64 " key exchanges failed; the first: %s", server.c_str(), bad, first_error.c_str());
    if (ok == 0) log::fatalx(EX_UNAVAILABLE, "%s: no key exchange completed", server.c_str());
    return 0;
}
