// ntp-query: ask NTP servers for the time, once (best of -n exchanges, like ntpdig) or
// continuously (--follow), and write sample records. See man/ntp-query.1.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <string>
#include <vector>

#include <sodium/core.h>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/status_socket.hpp"
#include "libtime/observe/snapshot.hpp"
#include "tools/ntp-query/output.hpp"
#include "tools/ntp-query/query.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace ntp_query;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-46fhVv] [-n count] [-o text|json|cbor] [-t timeout] [-x seconds]\n"
                 "       [--interleaved] [--iburst] [--minpoll N] [--maxpoll N] [--max-sources N]\n"
                 "       [--ntp-version N] [--nts [--ca-file FILE] [--nts-port N]]\n"
                 "       [--status-socket PATH [--status-mode MODE]] server ...\n"
                 "  -4, -6                use IPv4 / IPv6 addresses only\n"
                 "  -n, --count COUNT     one-shot: exchanges per server (default 4);\n"
                 "                        --follow: stop after COUNT records in all\n"
                 "  -f, --follow          poll continuously, one record per sample\n"
                 "  -x, --duration TIME   stop after TIME (1.5, 250ms, 2s, 1m)\n"
                 "  -t, --timeout TIME    wait this long for each reply (default 1s)\n"
                 "  -o, --output FORMAT   text table, JSON lines or CBOR (default: text on a\n"
                 "                        terminal, CBOR otherwise)\n"
                 "      --interleaved     RFC 9769 interleaved client mode\n"
                 "      --minpoll N       --follow: shortest poll interval, 2^N s (default 6)\n"
                 "      --maxpoll N       --follow: longest poll interval, 2^N s (default 10)\n"
                 "      --iburst          --follow: a burst of 8 requests 2 s apart at start\n"
                 "      --max-sources N   addresses used per server name (default 4)\n"
                 "      --ntp-version N   NTP version of the requests, 1-4 (default 4)\n"
                 "      --nts             Network Time Security (RFC 8915): each server is an\n"
                 "                        NTS-KE server, which names the NTP server to ask\n"
                 "      --ca-file FILE    --nts: trust the CAs in FILE instead of the system's\n"
                 "      --nts-port N      --nts: the NTS-KE port (default 4460); a server's own\n"
                 "                        :PORT is the NTP port when the key exchange names none\n"
                 "      --status-socket PATH  answer status snapshots (each source's newest\n"
                 "                        sample and counters) on this Unix socket\n"
                 "      --status-mode MODE    its file mode, octal (0666)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str());
}

enum LongOnly { kInterleaved = 256, kIburst, kMinpoll, kMaxpoll, kMaxSources, kNtpVersion, kNts, kCaFile, kNtsPort,
                kStatusSocket, kStatusMode };

struct Options {
    QueryOptions query;
    OutputFormat output = OutputFormat::cbor;
    bool count_given = false;
    bool nts = false;
    nts::KeClientOptions ke;
    std::uint16_t nts_port = nts::kNtsKePort;
    std::optional<std::string> status_socket;
    int status_mode = 0666;
};

Options parse_options(int argc, char* argv[]) {
    Options opt;
    opt.output = default_output_format();
    static const option long_options[] = {
        {"count", required_argument, nullptr, 'n'},      {"follow", no_argument, nullptr, 'f'},
        {"duration", required_argument, nullptr, 'x'},   {"timeout", required_argument, nullptr, 't'},
        {"output", required_argument, nullptr, 'o'},     {"interleaved", no_argument, nullptr, kInterleaved},
        {"nts", no_argument, nullptr, kNts}, {"ca-file", required_argument, nullptr, kCaFile},
        {"nts-port", required_argument, nullptr, kNtsPort},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"iburst", no_argument, nullptr, kIburst},       {"minpoll", required_argument, nullptr, kMinpoll},
        {"maxpoll", required_argument, nullptr, kMaxpoll}, {"max-sources", required_argument, nullptr, kMaxSources},
        {"ntp-version", required_argument, nullptr, kNtpVersion}, {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},             {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    bool maxpoll_given = false;
    int c;
    opterr = 0;  // one line of our own instead of getopt's
    while ((c = getopt_long(argc, argv, ":46n:fx:t:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case '4': opt.query.family = Family::v4; break;
        case '6': opt.query.family = Family::v6; break;
        case 'n':
            opt.query.count = static_cast<int>(int_option("-n", optarg, 1, 1'000'000));
            opt.count_given = true;
            break;
        case 'f': opt.query.follow = true; break;
        case 'x': opt.query.duration = duration_option("-x", optarg); break;
        case 't': opt.query.timeout = duration_option("-t", optarg); break;
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case kInterleaved: opt.query.client.interleaved = true; break;
        case kNts: opt.nts = true; break;
        case kCaFile: opt.ke.ca_file = optarg; break;
        case kNtsPort: opt.nts_port = static_cast<std::uint16_t>(int_option("--nts-port", optarg, 1, 65535)); break;
        case kIburst: opt.query.poll.iburst = true; break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case kMinpoll:
            opt.query.poll.minpoll = static_cast<int>(int_option("--minpoll", optarg, ntp::kPollExponentMin, ntp::kPollExponentMax));
            break;
        case kMaxpoll:
            opt.query.poll.maxpoll = static_cast<int>(int_option("--maxpoll", optarg, ntp::kPollExponentMin, ntp::kPollExponentMax));
            maxpoll_given = true;
            break;
        case kMaxSources:
            opt.query.max_sources = static_cast<std::size_t>(int_option("--max-sources", optarg, 1, 64));
            break;
        case kNtpVersion:
            opt.query.client.version = static_cast<std::uint8_t>(int_option("--ntp-version", optarg, 1, 4));
            break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); std::exit(0);
        case 'V': std::printf("ntp-query %s\n", TIMEPIPE_VERSION); std::exit(0);
        default: getopt_failure(c, argv);
        }
    }
    // A lone --minpoll above the default maxpoll raises maxpoll with it, as chronyd does.
    if (!maxpoll_given && opt.query.poll.maxpoll < opt.query.poll.minpoll)
        opt.query.poll.maxpoll = opt.query.poll.minpoll;
    if (auto why = check(opt.query.poll); !why.empty()) log::fatalx(EX_USAGE, "%s", std::string(why).c_str());
    if (opt.query.follow && !opt.count_given) opt.query.count = 0;  // follow: no limit unless asked
    if (optind == argc) log::fatalx(EX_USAGE, "no server given (see -h)");
    return opt;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt = parse_options(argc, argv);
    if (sodium_init() < 0) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");
    opt.query.client.local_precision = SystemClock().precision_log2();

    // --status-socket: each source's newest sample and its counters, for timepipe-status.
    const ProcessIdentity self = this_process();
    observe::SnapshotStore status_store({"ntp-query", 0, self.pid, self.started, TIMEPIPE_VERSION, opt.status_socket});
    std::optional<StatusSocket> status_socket;
    if (opt.status_socket) {
        auto s = StatusSocket::open(*opt.status_socket, static_cast<mode_t>(opt.status_mode),
                                    [&] { return status_store.encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
        opt.query.on_stats = [&](const Stats& st) { status_store.publish(to_record(st)); };
    }

    // One-shot: every name at once, each in a helper thread (getaddrinfo has no timeout), all
    // within the time the exchanges would take (count x -t) and -x; a name that does not
    // resolve is an ordinary outcome: report it, query the others. --follow resolves names in
    // its loop, again and again until they do (after a boot without network, say).
    int status = 0;
    std::vector<Server> servers;
    std::vector<std::optional<PendingResolution>> pending;
    for (int i = optind; i < argc; ++i) {
        auto hp = parse_host_port(argv[i]);
        if (!hp) log::fatalx(EX_USAGE, "%s: %s", argv[i], hp.error().what.c_str());
        if (hp->port == 0) log::fatalx(EX_USAGE, "%s: port 0", argv[i]);
        servers.push_back(Server{argv[i], *hp, {}, nullptr});
        pending.emplace_back();
        if (opt.nts) {
            // The key exchange first: it names the NTP server (and its port) to resolve.
            auto a = std::make_shared<NtsAssociation>();
            a->ke_server = HostPort{hp->host, opt.nts_port};
            a->ke = opt.ke;
            a->ke.family = opt.query.family;
            a->ke.timeout = std::max(opt.query.timeout, std::chrono::nanoseconds(std::chrono::seconds(2)));
            auto ke = nts::nts_key_exchange(a->ke_server, a->ke);
            if (!ke) {
                log::warnx("%s: NTS-KE: %s", argv[i], ke.error().what.c_str());
                if (status == 0) status = ke.error().exit_code;
                servers.pop_back();
                pending.pop_back();
                continue;
            }
            a->key_exchanges = 1;
            log::info("%s: NTS-KE: %s, NTP server %s port %u, %zu cookies", argv[i],
                      std::string(nts::aead_name(ke->aead)).c_str(), ke->ntp_host.c_str(),
                      ke->response.port ? *ke->response.port : hp->port.value_or(123), ke->response.cookies.size());
            hp = HostPort{ke->ntp_host, ke->response.port ? ke->response.port : hp->port};
            servers.back().host = *hp;
            a->session.emplace(ke->keys, std::move(ke->response.cookies));
            servers.back().nts = std::move(a);
        }
        if (opt.query.follow && !parse_address(hp->host)) continue;  // resolved in the loop
        auto p = PendingResolution::start(*hp, 123, opt.query.family);
        if (!p) log::fatalx(p.error().exit_code, "%s: %s", argv[i], p.error().what.c_str());
        pending.back().emplace(std::move(*p));
    }
    auto bound = opt.query.timeout * std::max(opt.query.count, 1);
    if (opt.query.duration.count() > 0) bound = std::min(bound, std::chrono::nanoseconds(opt.query.duration));
    const auto deadline = std::chrono::steady_clock::now() + bound;
    std::vector<Server> usable;
    for (std::size_t i = 0; i < servers.size(); ++i) {
        if (pending[i]) {
            auto left = std::max(std::chrono::nanoseconds(0), std::chrono::nanoseconds(deadline - std::chrono::steady_clock::now()));
            auto addrs = pending[i]->wait_for(left).value_or(fail("name resolution timed out", EX_TEMPFAIL));
            if (!addrs) {
                log::warnx("%s: %s", servers[i].name.c_str(), addrs.error().what.c_str());
                if (status == 0) status = addrs.error().exit_code;
                continue;
            }
            servers[i].addresses = std::move(*addrs);
            if (servers[i].addresses.size() > opt.query.max_sources) servers[i].addresses.resize(opt.query.max_sources);
        }
        usable.push_back(std::move(servers[i]));
    }
    if (usable.empty()) return status;
    Writer writer(opt.output);
    auto results = run_query(usable, opt.query, [&](const Sample& s) {
        status_store.publish(to_record(s));
        writer.sample(s);
    });

    bool got_time = false;
    for (const auto& r : results) {
        got_time = got_time || r.samples > 0;
        if (status == 0 && r.samples == 0) status = r.exit_code;
    }
    if (!opt.query.follow) {
        // An unsynchronised server's sample is shown but takes no part in the selection.
        std::vector<std::optional<Sample>> best;
        for (const auto& r : results) best.push_back(r.unsynchronised ? std::nullopt : r.best);
        std::vector<char> tally(best.size(), ' ');
        if (best.size() > 1) {
            std::string why;
            tally = tally_codes(best, &why);
            if (!why.empty()) log::warnx("selection: %s", why.c_str());
        }
        for (std::size_t i = 0; i < best.size(); ++i)
            if (results[i].best) writer.sample(*results[i].best, tally[i]);
    }
    return got_time ? 0 : status;
}
