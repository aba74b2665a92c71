#include "tools/roughtime-serve/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <string>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/roughtime/online_key.hpp"
#include "libtime/roughtime/responder.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

namespace timepipe::rtserve {

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-k file] [-l addr[:port]] [-r radius] [-u file|-] [options]\n"
                 "       %s --keygen FILE [--force]\n"
                 "      --keygen FILE          write a new long-term key to FILE (mode 0600), print\n"
                 "                             its public key, exit\n"
                 "      --force                let --keygen replace an existing FILE\n"
                 "  -k, --key FILE             long-term key (default $CREDENTIALS_DIRECTORY/roughtime-key)\n"
                 "  -l, --listen ADDR[:PORT]   address to serve on, UDP and TCP, repeatable\n"
                 "                             (default 0.0.0.0:2002 and [::]:2002)\n"
                 "      --tcp on|off           serve TCP as well as UDP (on)\n"
                 "      --google on|off        answer Google-Roughtime requests too (on)\n"
                 "  -r, --radius DURATION      RADI, the claimed accuracy (3s); with --upstream the\n"
                 "                             least RADI, the upstream's root distance if larger\n"
                 "  -u, --upstream FILE|-      follow the sample stream in FILE (- for stdin);\n"
                 "                             no answers while it is unsynchronised\n"
                 "      --stale-after DURATION a sample is usable this long (8 of its polls)\n"
                 "      --online-validity DURATION  lifetime of each online key (24h)\n"
                 "      --batch-size N         requests signed together, 1-%zu (64)\n"
                 "      --batch-delay DURATION|0  wait this long for a batch to fill (1ms)\n"
                 "      --offset [-]DURATION   serve a time this far off: for testing clients only\n"
                 "      --status-socket PATH   answer status snapshots on this Unix socket\n"
                 "      --status-mode MODE     its file mode, octal (0666)\n"
                 "  -v, --verbose              more messages on standard error\n"
                 "  -h, --help                 this help\n"
                 "  -V, --version              print the version\n",
                 std::string(log::program()).c_str(), std::string(log::program()).c_str(),
                 roughtime::Responder::kMaxBatch);
}

enum LongOnly {
    kKeygen = 256, kForce, kTcp, kGoogle, kStaleAfter, kOnlineValidity, kBatchSize, kBatchDelay, kOffset,
    kStatusSocket, kStatusMode,
};

}  // namespace

Options parse_options(int argc, char* argv[]) {
    Options opt;
    static const option long_options[] = {
        {"keygen", required_argument, nullptr, kKeygen},
        {"force", no_argument, nullptr, kForce},
        {"key", required_argument, nullptr, 'k'},
        {"listen", required_argument, nullptr, 'l'},
        {"tcp", required_argument, nullptr, kTcp},
        {"google", required_argument, nullptr, kGoogle},
        {"radius", required_argument, nullptr, 'r'},
        {"upstream", required_argument, nullptr, 'u'},
        {"stale-after", required_argument, nullptr, kStaleAfter},
        {"online-validity", required_argument, nullptr, kOnlineValidity},
        {"batch-size", required_argument, nullptr, kBatchSize},
        {"batch-delay", required_argument, nullptr, kBatchDelay},
        {"offset", required_argument, nullptr, kOffset},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    opterr = 0;  // one line of our own instead of getopt's
    int c;
    while ((c = getopt_long(argc, argv, ":k:l:r:u:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case kKeygen: opt.keygen = optarg; break;
        case kForce: opt.force = true; break;
        case 'k': opt.key = optarg; break;
        case 'l': opt.listen.emplace_back(optarg); break;
        case kTcp: opt.tcp = on_off_option("--tcp", optarg); break;
        case kGoogle: opt.google = on_off_option("--google", optarg); break;
        case 'r': opt.radius_ns = duration_option("--radius", optarg).count(); break;
        case 'u': opt.upstream = optarg; break;
        case kStaleAfter: opt.stale_after_ns = duration_option("--stale-after", optarg).count(); break;
        case kOnlineValidity:
            opt.online_validity_ns = duration_option("--online-validity", optarg).count();
            if (opt.online_validity_ns < roughtime::RotationSchedule::kMinValidity)
                log::fatalx(EX_USAGE, "--online-validity: \"%s\" is shorter than 1s", optarg);
            break;
        case kBatchSize:
            opt.batch_size = static_cast<std::size_t>(
                int_option("--batch-size", optarg, 1, static_cast<long>(roughtime::Responder::kMaxBatch)));
            break;
        case kBatchDelay: opt.batch_delay_ns = duration_or_zero_option("--batch-delay", optarg).count(); break;
        case kOffset: opt.offset_ns = signed_duration_option("--offset", optarg).count(); break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); std::exit(0);
        case 'V': std::printf("roughtime-serve %s\n", TIMEPIPE_VERSION); std::exit(0);
        default: getopt_failure(c, argv);
        }
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);
    if (opt.force && !opt.keygen) log::fatalx(EX_USAGE, "--force: only with --keygen (see -h)");
    if (opt.batch_delay_ns > kNanosPerSecond)
        log::fatalx(EX_USAGE, "--batch-delay: longer than 1s makes every answer late (see -h)");
    return opt;
}

}  // namespace timepipe::rtserve
