// nts-ke: NTS Key Establishment (RFC 8915 §4). As a client, one handshake with a server and
// what it said; with --rotate-keys, the cookie master-key file ntp-serve --nts-keys reads.
// See man/nts-ke.8.
#include <cstdio>
#include <getopt.h>
#include <string>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "tools/nts-ke/client.hpp"
#include "tools/nts-ke/keys.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* to) {
    const std::string p(log::program());
    std::fprintf(to,
                 "usage: %s [-46hVv] [--ca-file FILE] [--groups LIST] [-o text|json] [-t TIME] HOST[:PORT]\n"
                 "       %s --rotate-keys FILE [--keep N]\n"
                 "  -4, -6                use IPv4 / IPv6 addresses only\n"
                 "      --ca-file FILE    trust the CAs in FILE (PEM) instead of the system's\n"
                 "      --groups LIST     TLS key-exchange groups, as OpenSSL names them\n"
                 "                        (\"X25519:P-256\"; default: OpenSSL's)\n"
                 "  -o, --output FORMAT   text or json (default text)\n"
                 "  -t, --timeout TIME    the whole exchange, per address (default 5s)\n"
                 "      --rotate-keys FILE  add a new current cookie key to FILE (created if\n"
                 "                        missing, mode 0600), keeping --keep older ones\n"
                 "      --keep N          old keys kept by --rotate-keys (default 2)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n"
                 "PORT defaults to 4460.\n",
                 p.c_str(), p.c_str());
}

enum LongOnly { kCaFile = 256, kGroups, kRotateKeys, kKeep };

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    nts::KeClientOptions opt;
    OutputFormat format = OutputFormat::text;
    std::string rotate_file;
    long keep = 2;

    static const option long_options[] = {
        {"ca-file", required_argument, nullptr, kCaFile},
        {"groups", required_argument, nullptr, kGroups},
        {"output", required_argument, nullptr, 'o'},
        {"timeout", required_argument, nullptr, 't'},
        {"rotate-keys", required_argument, nullptr, kRotateKeys},
        {"keep", required_argument, nullptr, kKeep},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":46o:t:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case '4': opt.family = Family::v4; break;
        case '6': opt.family = Family::v6; break;
        case kCaFile: opt.ca_file = optarg; break;
        case kGroups: opt.groups = optarg; break;
        case 'o': {
            std::string f = optarg;
            if (f == "text") format = OutputFormat::text;
            else if (f == "json") format = OutputFormat::json;
            else log::fatalx(EX_USAGE, "-o: \"%s\" is not text or json", optarg);
            break;
        }
        case 't': opt.timeout = duration_option("-t", optarg); break;
        case kRotateKeys: rotate_file = optarg; break;
        case kKeep: keep = int_option("--keep", optarg, 0, 100); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("nts-ke %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }

    if (!rotate_file.empty()) {
        if (optind != argc) log::fatalx(EX_USAGE, "%s: --rotate-keys takes no server", argv[optind]);
        auto keys = nts_ke::rotate_keys(rotate_file, static_cast<std::size_t>(keep));
        if (!keys) log::fatalx(keys.error().exit_code, "%s: %s", rotate_file.c_str(), keys.error().what.c_str());
        log::info("%s: %zu keys, the current one created now", rotate_file.c_str(), keys->keys.size());
        return 0;
    }

    if (argc - optind != 1) log::fatalx(EX_USAGE, "one server, HOST[:PORT], expected (see -h)");
    auto hp = parse_host_port(argv[optind]);
    if (!hp) log::fatalx(EX_USAGE, "%s: %s", argv[optind], hp.error().what.c_str());
    return nts_ke::run_client(*hp, opt, format);
}
