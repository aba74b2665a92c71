#include "tools/ntp-serve/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <getopt.h>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

namespace timepipe::serve {

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-l addr[:port]] [-s stratum] [-u file|-] [options]\n"
                 "  -l, --listen ADDR[:PORT]   address to serve on, repeatable\n"
                 "                             (default 0.0.0.0:123 and [::]:123)\n"
                 "  -s, --stratum N            serve the local clock at stratum N (1-15)\n"
                 "  -u, --upstream FILE|-      follow the sample stream in FILE (- for stdin)\n"
                 "      --stale-after DURATION a sample is usable this long (8 of its polls)\n"
                 "      --no-correct           do not add the upstream offset to served time\n"
                 "  -r, --rate-limit R[/BURST]|off  answers per second per client (default off)\n"
                 "      --allow CIDR           serve these clients (repeatable)\n"
                 "      --deny CIDR            refuse these clients (repeatable)\n"
                 "      --restrict CIDR        answer these clients with KoD RSTR (repeatable)\n"
                 "      --acl-file FILE        more allow/deny/restrict rules, re-read on SIGHUP\n"
                 "      --deny-kod on|off      KoD DENY to refused clients, or silence (on)\n"
                 "      --interleaved on|off   RFC 9769 interleaved mode (on)\n"
                 "      --nts-keys FILE        answer NTS requests (RFC 8915) with the cookie keys\n"
                 "                             nts-ke writes in FILE; a new file is read within 1 s\n"
                 "  -w, --workers N            threads, each with its own sockets (1)\n"
                 "      --coalesce DURATION    when busy, read requests this often rather than\n"
                 "                             waking for each one; 0 or off: never (250us)\n"
                 "      --stats-interval DURATION  write a stats record to stdout this often\n"
                 "      --user USER            once bound, run as USER with no capability\n"
                 "      --status-socket PATH   answer status snapshots on this Unix socket\n"
                 "      --status-mode MODE     its file mode, octal (0666)\n"
                 "  -o, --output FORMAT        text, json or cbor for stats records\n"
                 "  -v, --verbose              more messages on standard error\n"
                 "  -h, --help                 this help\n"
                 "  -V, --version              print the version\n",
                 std::string(log::program()).c_str());
}

enum LongOnly {
    kStaleAfter = 256, kNoCorrect, kAllow, kDeny, kRestrict, kAclFile, kDenyKod, kInterleaved, kStatsInterval, kCoalesce, kUser, kNtsKeys,
    kStatusSocket, kStatusMode,
};

}  // namespace

Options parse_options(int argc, char* argv[]) {
    Options opt;
    opt.output = default_output_format();
    static const option long_options[] = {
        {"listen", required_argument, nullptr, 'l'},
        {"stratum", required_argument, nullptr, 's'},
        {"upstream", required_argument, nullptr, 'u'},
        {"stale-after", required_argument, nullptr, kStaleAfter},
        {"no-correct", no_argument, nullptr, kNoCorrect},
        {"rate-limit", required_argument, nullptr, 'r'},
        {"allow", required_argument, nullptr, kAllow},
        {"deny", required_argument, nullptr, kDeny},
        {"restrict", required_argument, nullptr, kRestrict},
        {"acl-file", required_argument, nullptr, kAclFile},
        {"nts-keys", required_argument, nullptr, kNtsKeys},
        {"deny-kod", required_argument, nullptr, kDenyKod},
        {"interleaved", required_argument, nullptr, kInterleaved},
        {"workers", required_argument, nullptr, 'w'},
        {"stats-interval", required_argument, nullptr, kStatsInterval},
        {"coalesce", required_argument, nullptr, kCoalesce},
        {"user", required_argument, nullptr, kUser},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"output", required_argument, nullptr, 'o'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // one line of our own instead of getopt's
    int c;
    while ((c = getopt_long(argc, argv, ":l:s:u:r:w:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'l': opt.listen.emplace_back(optarg); break;
        case 's': opt.stratum = static_cast<std::uint8_t>(int_option("--stratum", optarg, 1, 15)); break;
        case 'u': opt.upstream = optarg; break;
        case kStaleAfter: opt.stale_after_ns = duration_option("--stale-after", optarg).count(); break;
        case kNoCorrect: opt.correct = false; break;
        case 'r': {
            RateLimitConfig base;
            auto r = parse_rate_limit(optarg, base);
            if (!r) log::fatalx(EX_USAGE, "--rate-limit: %s", r.error().what.c_str());
            opt.rate_limit = *r;
            break;
        }
        case kAllow: opt.rules.push_back(std::string("allow ") + optarg); break;
        case kDeny: opt.rules.push_back(std::string("deny ") + optarg); break;
        case kRestrict: opt.rules.push_back(std::string("restrict ") + optarg); break;
        case kAclFile: opt.acl_file = optarg; break;
        case kNtsKeys: opt.nts_keys = optarg; break;
        case kDenyKod: opt.deny_kod = on_off_option("--deny-kod", optarg); break;
        case kInterleaved: opt.interleaved = on_off_option("--interleaved", optarg); break;
        case 'w': opt.workers = static_cast<unsigned>(int_option("--workers", optarg, 1, 64)); break;
        case kCoalesce:
            opt.coalesce = std::string_view(optarg) == "off" ? std::chrono::nanoseconds{0}
                                                             : duration_or_zero_option("--coalesce", optarg);
            if (opt.coalesce > std::chrono::seconds(1))
                log::fatalx(EX_USAGE, "--coalesce: %s: more than 1s", optarg);
            break;
        case kUser: opt.user = optarg; break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case kStatsInterval: opt.stats_interval_ns = duration_option("--stats-interval", optarg).count(); break;
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); std::exit(0);
        case 'V': std::printf("ntp-serve %s\n", TIMEPIPE_VERSION); std::exit(0);
        default: getopt_failure(c, argv);
        }
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);
    return opt;
}

}  // namespace timepipe::serve
