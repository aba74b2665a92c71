// nts-ke: NTS Key Establishment (RFC 8915 §4). As a client, one handshake with a server and
// what it said; with --rotate-keys, the cookie master-key file ntp-serve --nts-keys reads.
// See man/nts-ke.8.
#include <cstdio>
#include <getopt.h>
#include <optional>
#include <string>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/nts/ke_message.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/sys/status_socket.hpp"
#include "tools/nts-ke/client.hpp"
#include "libtime/nts/key_file.hpp"
#include "tools/nts-ke/server.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* to) {
    const std::string p(log::program());
    std::fprintf(to,
                 "usage: %s [-46hVv] [--ca-file FILE] [--groups LIST] [-o text|json] [-t TIME] HOST[:PORT]\n"
                 "       %s --serve --cert FILE --key FILE --keys FILE [--listen ADDR[:PORT]]...\n"
                 "          [--ntp-server HOST[:PORT] | --ntp-port N] [--rotate TIME] [--keep N] [--max-connections N]\n"
                 "          [--groups LIST] [--status-socket PATH] [-t TIME]\n"
                 "       %s --rotate-keys FILE [--keep N]\n"
                 "  -4, -6                use IPv4 / IPv6 addresses only\n"
                 "      --ca-file FILE    trust the CAs in FILE (PEM) instead of the system's\n"
                 "      --groups LIST     TLS key-exchange groups, as OpenSSL names them\n"
                 "                        (\"X25519:P-256\"; default: OpenSSL's)\n"
                 "  -o, --output FORMAT   text or json (default text)\n"
                 "  -t, --timeout TIME    the whole exchange, per address; serving, the longest a\n"
                 "                        connection may take from accept to close (default 5s)\n"
                 "      --serve           run the NTS-KE server\n"
                 "      --cert FILE       serving: the certificate chain (PEM); reloaded on SIGHUP\n"
                 "      --key FILE        serving: its private key (PEM); reloaded on SIGHUP\n"
                 "      --keys FILE       serving: the cookie key file (created if missing), shared\n"
                 "                        with ntp-serve --nts-keys; a new file is noticed within 1 s\n"
                 "  -l, --listen ADDR[:PORT]  serving: where (repeatable; default 0.0.0.0 and [::],\n"
                 "                        port 4460)\n"
                 "      --ntp-server HOST[:PORT]  serving: the NTP server clients are sent to\n"
                 "                        (default: the address the client reached, port 123)\n"
                 "      --ntp-port N      serving: only the NTP port (clients keep the address)\n"
                 "      --rotate TIME     serving: rotate the key file this often (default never)\n"
                 "      --max-connections N  serving: connections at once (default 256)\n"
                 "      --status-socket PATH  serving: answer status snapshots on this Unix socket\n"
                 "      --status-mode MODE  serving: its file mode, octal (0666)\n"
                 "      --rotate-keys FILE  add a new current cookie key to FILE (created if\n"
                 "                        missing, mode 0600), keeping --keep older ones\n"
                 "      --keep N          old keys kept by --rotate-keys (default 2)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n"
                 "PORT defaults to 4460.\n",
                 p.c_str(), p.c_str(), p.c_str());
}

enum LongOnly {
    kCaFile = 256, kGroups, kRotateKeys, kKeep, kServe, kCert, kKey, kKeys, kNtpServer, kNtpPort, kRotate,
    kMaxConnections, kStatusSocket, kStatusMode,
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    nts::KeClientOptions opt;
    OutputFormat format = OutputFormat::text;
    std::string rotate_file;
    long keep = 2;
    bool serve = false;
    nts_ke::ServeOptions so;
    std::string status_path;
    int status_mode = 0666;

    static const option long_options[] = {
        {"ca-file", required_argument, nullptr, kCaFile},
        {"groups", required_argument, nullptr, kGroups},
        {"output", required_argument, nullptr, 'o'},
        {"timeout", required_argument, nullptr, 't'},
        {"rotate-keys", required_argument, nullptr, kRotateKeys},
        {"keep", required_argument, nullptr, kKeep},
        {"serve", no_argument, nullptr, kServe},
        {"cert", required_argument, nullptr, kCert},
        {"key", required_argument, nullptr, kKey},
        {"keys", required_argument, nullptr, kKeys},
        {"listen", required_argument, nullptr, 'l'},
        {"ntp-server", required_argument, nullptr, kNtpServer},
        {"ntp-port", required_argument, nullptr, kNtpPort},
        {"rotate", required_argument, nullptr, kRotate},
        {"max-connections", required_argument, nullptr, kMaxConnections},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":46l:o:t:vhV", long_options, nullptr)) != -1) {
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
        case kServe: serve = true; break;
        case kCert: so.tls.cert_file = optarg; break;
        case kKey: so.tls.key_file = optarg; break;
        case kKeys: so.keys_file = optarg; break;
        case 'l': so.listen.push_back(optarg); break;
        case kNtpServer: {
            auto hp = parse_host_port(optarg);
            if (!hp) log::fatalx(EX_USAGE, "--ntp-server: %s", hp.error().what.c_str());
            if (!nts::valid_server_name(hp->host)) log::fatalx(EX_USAGE, "--ntp-server: \"%s\" is not a host name or address", optarg);
            so.ntp_server = hp->host;
            so.ntp_port = hp->port;
            break;
        }
        case kNtpPort: so.ntp_port = static_cast<std::uint16_t>(int_option("--ntp-port", optarg, 1, 65535)); break;
        case kRotate: so.rotate = duration_option("--rotate", optarg); break;
        case kMaxConnections: so.max_connections = static_cast<std::size_t>(int_option("--max-connections", optarg, 1, 100000)); break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("nts-ke %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }

    if (serve) {
        if (optind != argc) log::fatalx(EX_USAGE, "%s: --serve takes no server", argv[optind]);
        if (so.tls.cert_file.empty() || so.tls.key_file.empty() || so.keys_file.empty())
            log::fatalx(EX_USAGE, "--serve needs --cert, --key and --keys");
        so.tls.groups = opt.groups;
        so.timeout = opt.timeout;
        so.keep = static_cast<std::size_t>(keep);
        // --status-socket: the server's counters, published from its loop every 200 ms.
        std::optional<observe::SnapshotStore> status;
        std::optional<StatusSocket> status_socket;
        if (!status_path.empty()) {
            const ProcessIdentity self = this_process();
            status.emplace(ToolStatus{"nts-ke", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
            auto s = StatusSocket::open(status_path, static_cast<mode_t>(status_mode), [&] { return status->encode(wall_clock_now()); });
            if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
            status_socket.emplace(std::move(*s));
            so.publish_counters = [&](std::map<std::string, std::uint64_t> counters) {
                status->publish(to_record(Stats{"nts-ke", wall_clock_now(), std::move(counters)}));
            };
        }
        return nts_ke::run_server(so);
    }
    if (!status_path.empty()) log::fatalx(EX_USAGE, "--status-socket: only with --serve");

    if (!rotate_file.empty()) {
        if (optind != argc) log::fatalx(EX_USAGE, "%s: --rotate-keys takes no server", argv[optind]);
        auto keys = nts::rotate_cookie_key_file(rotate_file, static_cast<std::size_t>(keep));
        if (!keys) log::fatalx(keys.error().exit_code, "%s: %s", rotate_file.c_str(), keys.error().what.c_str());
        log::info("%s: %zu keys, the current one created now", rotate_file.c_str(), keys->keys.size());
        return 0;
    }

    if (argc - optind != 1) log::fatalx(EX_USAGE, "one server, HOST[:PORT], expected (see -h)");
    auto hp = parse_host_port(argv[optind]);
    if (!hp) log::fatalx(EX_USAGE, "%s: %s", argv[optind], hp.error().what.c_str());
    return nts_ke::run_client(*hp, opt, format);
}
