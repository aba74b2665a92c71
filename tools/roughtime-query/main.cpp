// roughtime-query: ask Roughtime servers (RFC 10049, its drafts, Google-Roughtime) for a signed
// time, verify it completely, and write sample records; with a server list, run the chained
// measurement sequence of §8.2 and write a malfeasance report when servers contradict each other.
// Offline, check a report or a captured exchange. With -f, again every --interval until stopped,
// with a status socket for timepipe-status. See man/roughtime-query.1.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <string>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/roughtime/report.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/status_socket.hpp"
#include "tools/roughtime-query/offline.hpp"
#include "tools/roughtime-query/output.hpp"
#include "tools/roughtime-query/query.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace roughtime_query;

namespace {

constexpr std::uint16_t kDefaultPort = 2002;  // no IANA port yet; what servers use

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-46hVv] [-n count] [-o text|json|cbor] [-t timeout] [--retries N]\n"
                 "       [--tcp] [--version-set SET] [-f [--interval TIME]\n"
                 "       [--status-socket PATH [--status-mode MODE]]] host:port public-key\n"
                 "       %s [options] -l list.json [--pick N] [--report FILE]\n"
                 "       %s [-l list.json] --check-report FILE\n"
                 "       %s [-o format] --verify-exchange REQUEST RESPONSE public-key\n"
                 "  -4, -6                use IPv4 / IPv6 addresses only\n"
                 "  -n, --count COUNT     exchanges with the one server (default 1)\n"
                 "  -f, --follow          query again every --interval until stopped (SIGTERM)\n"
                 "      --interval TIME   between rounds with -f (default 1h, at least 1s)\n"
                 "      --status-socket PATH  with -f: answer status snapshots (the newest\n"
                 "                        sample of each server, counters) on this Unix socket\n"
                 "      --status-mode MODE    its file mode, octal (0666)\n"
                 "  -o, --output FORMAT   text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                        CBOR otherwise)\n"
                 "  -t, --timeout TIME    wait this long for the first try, doubling (default 1s)\n"
                 "      --retries N       tries after the first (default 2)\n"
                 "      --tcp             TCP instead of UDP\n"
                 "      --version-set SET versions to offer: rfc, draft-12, draft-11, draft-08,\n"
                 "                        google, ietf, comma-separated (default: ietf)\n"
                 "  -l, --list FILE       a server list (RFC 10049 8.3 or ecosystem.json):\n"
                 "                        chained measurement sequence, every server twice\n"
                 "      --pick N          servers picked at random from the list (default all, >= 3)\n"
                 "      --report FILE     write a malfeasance report there if servers conflict\n"
                 "      --check-report FILE  verify a malfeasance report, name the conflicts\n"
                 "      --verify-exchange REQUEST RESPONSE KEY  verify a captured exchange\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n",
                 std::string(log::program()).c_str(), std::string(log::program()).c_str(),
                 std::string(log::program()).c_str(), std::string(log::program()).c_str());
}

enum LongOnly {
    kRetries = 256, kTcp, kVersionSet, kPick, kReport, kCheckReport, kVerifyExchange, kInterval, kStatusSocket,
    kStatusMode
};

struct Options {
    QueryOptions query;
    OutputFormat output = OutputFormat::cbor;
    long count = 1;
    bool tcp = false;
    std::optional<std::vector<roughtime::Version>> versions;
    const char* list = nullptr;
    long pick = 0;
    const char* report = nullptr;
    const char* check_report = nullptr;
    bool verify_exchange = false;
    bool follow = false;
    std::chrono::nanoseconds interval = std::chrono::hours(1);
    bool interval_given = false;
    std::optional<std::string> status_socket;
    int status_mode = 0666;
};

Options parse_options(int argc, char* argv[]) {
    Options opt;
    opt.output = default_output_format();
    static const option long_options[] = {
        {"count", required_argument, nullptr, 'n'},     {"output", required_argument, nullptr, 'o'},
        {"timeout", required_argument, nullptr, 't'},   {"retries", required_argument, nullptr, kRetries},
        {"tcp", no_argument, nullptr, kTcp},             {"version-set", required_argument, nullptr, kVersionSet},
        {"list", required_argument, nullptr, 'l'},      {"pick", required_argument, nullptr, kPick},
        {"report", required_argument, nullptr, kReport}, {"check-report", required_argument, nullptr, kCheckReport},
        {"verify-exchange", no_argument, nullptr, kVerifyExchange},
        {"follow", no_argument, nullptr, 'f'},          {"interval", required_argument, nullptr, kInterval},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},          {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},          {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;  // one line of our own instead of getopt's
    while ((c = getopt_long(argc, argv, ":46fn:o:t:l:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case '4': opt.query.family = Family::v4; break;
        case '6': opt.query.family = Family::v6; break;
        case 'n': opt.count = int_option("-n", optarg, 1, 1'000'000); break;
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 't': opt.query.retry.timeout = duration_option("-t", optarg); break;
        case kRetries: opt.query.retry.retries = static_cast<int>(int_option("--retries", optarg, 0, 20)); break;
        case kTcp: opt.tcp = true; break;
        case kVersionSet:
            if (auto v = roughtime::parse_version_set(optarg)) opt.versions = *v;
            else log::fatalx(EX_USAGE, "--version-set: %s", v.error().what.c_str());
            break;
        case 'l': opt.list = optarg; break;
        case kPick: opt.pick = int_option("--pick", optarg, 3, 1000); break;
        case kReport: opt.report = optarg; break;
        case kCheckReport: opt.check_report = optarg; break;
        case kVerifyExchange: opt.verify_exchange = true; break;
        case 'f': opt.follow = true; break;
        case kInterval:
            opt.interval = duration_option("--interval", optarg);
            opt.interval_given = true;
            if (opt.interval < std::chrono::seconds(1)) log::fatalx(EX_USAGE, "--interval: %s is below 1s", optarg);
            break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); std::exit(0);
        case 'V': std::printf("roughtime-query %s\n", TIMEPIPE_VERSION); std::exit(0);
        default: getopt_failure(c, argv);
        }
    }
    const int operands = argc - optind;
    if (opt.check_report && (operands != 0 || opt.verify_exchange))
        log::fatalx(EX_USAGE, "--check-report takes no other operands (see -h)");
    if (opt.verify_exchange && operands != 3)
        log::fatalx(EX_USAGE, "--verify-exchange needs REQUEST RESPONSE public-key (see -h)");
    if (!opt.check_report && !opt.verify_exchange) {
        if (opt.list && operands != 0) log::fatalx(EX_USAGE, "-l takes no server operands (see -h)");
        if (!opt.list && operands != 2) log::fatalx(EX_USAGE, "need host:port and public-key, or -l list (see -h)");
        if (!opt.list && (opt.pick || opt.report)) log::fatalx(EX_USAGE, "--pick and --report need -l (see -h)");
    }
    if (!opt.follow && (opt.interval_given || opt.status_socket))
        log::fatalx(EX_USAGE, "--interval and --status-socket need -f (see -h)");
    if (opt.follow && (opt.check_report || opt.verify_exchange))
        log::fatalx(EX_USAGE, "-f queries servers: not with --check-report or --verify-exchange");
    if (opt.tcp && opt.versions && (*opt.versions)[0] == roughtime::Version::Google)
        log::fatalx(EX_USAGE, "--tcp: Google-Roughtime has no TCP framing");
    return opt;
}

roughtime::ServerList load_list(const char* path) {
    auto list = roughtime::parse_server_list(read_file_or_die(path));
    if (!list) log::fatalx(list.error().exit_code, "%s: %s", path, list.error().what.c_str());
    for (const auto& k : list->skipped) log::info("%s: servers[%zu] %s: skipped: %s", path, k.index, k.name.c_str(), k.reason.c_str());
    return std::move(*list);
}

// The list's servers as targets: the first address of the wanted transport, else the first.
std::vector<Target> targets_of(const roughtime::ServerList& list, const Options& opt) {
    std::vector<Target> out;
    const auto want = opt.tcp ? roughtime::Transport::tcp : roughtime::Transport::udp;
    for (const auto& s : list.servers) {
        if (s.addresses.empty()) continue;
        const roughtime::ServerAddress* a = &s.addresses.front();
        for (const auto& candidate : s.addresses)
            if (candidate.transport == want) {
                a = &candidate;
                break;
            }
        Target t{s.name, a->address, a->transport, s.public_key, opt.versions.value_or(s.versions)};
        if (t.transport == roughtime::Transport::tcp && t.versions == std::vector{roughtime::Version::Google}) continue;
        out.push_back(std::move(t));
    }
    return out;
}

void write_report(const char* path, const std::vector<roughtime::ChainStep>& steps) {
    const std::string text = roughtime::to_json(roughtime::Report{steps}).dump(2) + "\n";
    std::FILE* f = std::fopen(path, "w");
    if (!f) log::fatal(EX_CANTCREAT, "%s", path);
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    if (std::fclose(f) != 0 || !ok) log::fatal(EX_IOERR, "%s", path);
}

int run_list(const Options& opt, Writer& writer) {
    const auto list = load_list(opt.list);
    const auto targets = targets_of(list, opt);
    auto seq = run_sequence(targets, static_cast<std::size_t>(opt.pick), opt.query);
    if (!seq) log::fatalx(seq.error().exit_code, "%s: %s", opt.list, seq.error().what.c_str());
    auto name = [&](std::size_t step) { return targets[seq->order[seq->answered[step]]].name; };
    // Only now that the whole chain is checked: every answer, then each conflict as a record of
    // its own. A pair in conflict does not say which of its two servers lies, so every answer of
    // either server is marked, not only the two responses of the pair.
    auto target = [&](std::size_t step) { return seq->order[seq->answered[step]]; };
    std::vector<bool> in_conflict(targets.size(), false);
    for (const auto& v : seq->violations) in_conflict[target(v.earlier)] = in_conflict[target(v.later)] = true;
    for (std::size_t i = 0; i < seq->answers.size(); ++i) {
        const Answer& a = seq->answers[i];
        writer.answer(a.source.substr(std::string("roughtime://").size()), a,
                      in_conflict[target(i)] ? roughtime::ChainVerdict::Conflict : roughtime::ChainVerdict::Consistent);
    }
    for (const auto& v : seq->violations) writer.conflict(name(v.earlier), name(v.later), conflict_record(*seq, v));
    for (const auto& v : seq->violations)
        log::warnx("causality violation: responses[%zu] from %s is ahead of responses[%zu] from %s by %.9g s "
                   "beyond both radii",
                   v.earlier, name(v.earlier).c_str(), v.later, name(v.later).c_str(), nanos_to_seconds(v.excess_ns));
    if (!seq->violations.empty()) {
        if (opt.report) {
            write_report(opt.report, seq->steps);
            log::warnx("%s: malfeasance report written", opt.report);
        }
        return EX_PROTOCOL;
    }
    if (seq->answers.empty()) return seq->first_failure != 0 ? seq->first_failure : EX_UNAVAILABLE;
    return 0;
}

int run_single(const Options& opt, char* server, char* key_text, Writer& writer) {
    auto key = roughtime::parse_public_key(key_text);
    if (!key) log::fatalx(EX_USAGE, "public key: %s", key.error().what.c_str());
    auto hp = parse_host_port(server);
    if (!hp) log::fatalx(EX_USAGE, "%s: %s", server, hp.error().what.c_str());
    if (hp->port == 0) log::fatalx(EX_USAGE, "%s: port 0", server);
    if (!hp->port) hp->port = kDefaultPort;
    Target t{server, *hp, opt.tcp ? roughtime::Transport::tcp : roughtime::Transport::udp, *key,
             opt.versions.value_or(roughtime::default_versions())};
    auto peer = resolve_target(t, opt.query.family);  // each round with -f: a name may come back
    if (!peer) {
        log::warnx("%s: %s", server, peer.error().what.c_str());
        return peer.error().exit_code;
    }
    int status = 0;
    bool got = false;
    for (long i = 0; i < opt.count; ++i) {
        std::vector<std::byte> nonce(roughtime::nonce_size(t.versions));
        crypto::random_bytes(nonce);
        auto a = query_any(t, *peer, nonce, opt.query);
        if (!a) {
            log::warnx("%s: %s", server, a.error().what.c_str());
            if (status == 0) status = a.error().exit_code;
            continue;
        }
        got = true;
        writer.answer(server, *a);
    }
    return got ? 0 : status;
}

// -f: a round (the -n exchanges with the one server, or the chain over -l's servers) every
// --interval until SIGINT or SIGTERM, then exit 0. A round that fails is reported and the next
// one comes as planned. Samples say the interval as their poll (log2 s), so that a reader knows
// how long one is good; the status socket has each server's newest sample and the counters.
int follow(const Options& opt, char** operands, Writer& writer) {
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    const ProcessIdentity self = this_process();
    observe::SnapshotStore store({"roughtime-query", 0, self.pid, self.started, TIMEPIPE_VERSION, opt.status_socket});
    std::optional<StatusSocket> status;
    if (opt.status_socket) {
        auto s = StatusSocket::open(*opt.status_socket, static_cast<mode_t>(opt.status_mode),
                                    [&] { return store.encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status.emplace(std::move(*s));
    }
    const double interval_s = nanos_to_seconds(opt.interval.count());
    writer.set_poll(static_cast<int>(std::clamp(std::floor(std::log2(interval_s)), 0.0, 17.0)));
    Stats stats{"roughtime-query", 0, {{"rounds", 0}, {"rounds_failed", 0}, {"samples", 0}, {"conflicts", 0}}};
    writer.on_record([&](const Record& r) {
        const auto type = r.value("type", "");
        if (type == "sample") ++stats.counters["samples"];
        if (type == "roughtime_conflict") ++stats.counters["conflicts"];
        store.publish(r);
    });
    while (!stop_requested()) {
        const int result = opt.list ? run_list(opt, writer) : run_single(opt, operands[0], operands[1], writer);
        ++stats.counters["rounds"];
        if (result != 0) ++stats.counters["rounds_failed"];
        stats.time = wall_clock_now();
        store.publish(to_record(stats));
        const auto next = std::chrono::steady_clock::now() + opt.interval;
        for (auto now = std::chrono::steady_clock::now(); now < next && !stop_requested();
             now = std::chrono::steady_clock::now())
            sleep_for(next - now);  // a signal ends it early
    }
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt = parse_options(argc, argv);
    if (!crypto::init()) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");

    if (opt.check_report) {
        std::optional<roughtime::ServerList> list;
        if (opt.list) list = load_list(opt.list);
        return check_report(opt.check_report, list);
    }
    if (opt.verify_exchange) return verify_exchange(argv[optind], argv[optind + 1], argv[optind + 2], opt.output);

    Writer writer(opt.output);
    if (!opt.follow) return opt.list ? run_list(opt, writer) : run_single(opt, argv[optind], argv[optind + 1], writer);
    return follow(opt, argv + optind, writer);
}
