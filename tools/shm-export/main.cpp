// shm-export: sample records in, reference clock samples out: into ntpd's shared memory
// segment UNIT (read by ntpd, chronyd's `refclock SHM`) or, with --sock, as datagrams to
// chronyd's `refclock SOCK` socket. See man/shm-export.1.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/refclock/shm.hpp"
#include "libtime/refclock/sock.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/shm.hpp"
#include "libtime/sys/status_socket.hpp"
#include "libtime/sys/unix_datagram.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-m mode] [-p precision] [-s source] [-n count] unit\n"
                 "       %s [-hVv] [-s source] [-n count] --sock path\n"
                 "  reads sample records on stdin; writes each to ntpd's SHM segment UNIT\n"
                 "  (key 0x4e545030 + UNIT) or sends it to chronyd's SOCK refclock at PATH\n"
                 "  -m, --mode MODE        permissions of a segment it creates, octal\n"
                 "                         (default 0600 for units 0-1, 0666 for 2 and up)\n"
                 "  -p, --precision N      log2 s, for samples without their own (-10)\n"
                 "  -s, --source NAME      only samples of this source\n"
                 "  -n, --count COUNT      stop after COUNT samples\n"
                 "  --sock PATH            chronyd's `refclock SOCK PATH` instead of SHM\n"
                 "  --status-socket PATH   answer status snapshots on this Unix socket\n"
                 "  --status-mode MODE     its file mode, octal (0666)\n"
                 "  -v, --verbose          more messages on standard error\n"
                 "  -h, --help             this help\n"
                 "  -V, --version          print the version\n",
                 std::string(log::program()).c_str(), std::string(log::program()).c_str());
}

enum { kSock = 256, kStatusSocket, kStatusMode };

struct Options {
    std::optional<int> unit;
    std::optional<int> mode;
    int precision = -10;
    std::string source;
    std::string sock;
    std::uint64_t count = 0;  // 0: no limit
    std::string status_socket;
    int status_mode = 0666;
};

// A sample a reference clock may pass on, or why not.
const char* unusable(const Sample& s) {
    if (s.kod) return "a Kiss-o'-Death";
    if (s.verified == false) return "not verified";
    if (!std::isfinite(s.offset) || std::fabs(s.offset) > 1e9) return "offset out of range";
    std::int64_t clock = 0;  // the reference time must fit in int64 nanoseconds too
    if (__builtin_add_overflow(s.time, static_cast<std::int64_t>(std::llround(s.offset * 1e9)), &clock))
        return "time + offset out of range";
    return nullptr;
}

// Where samples go: a segment or chronyd's socket; one of the two is set.
struct Sink {
    std::optional<ShmSegment> segment;
    std::optional<UnixDatagramSocket> socket;
    std::string path;
    int precision = -10;

    // false: the sample could not be delivered (the reason is on stderr, rate-limited).
    bool put(const Sample& s) {
        const auto clock = s.time + static_cast<std::int64_t>(std::llround(s.offset * 1e9));
        if (segment) {
            refclock::write_shm(segment->time(), {clock, s.time, s.leap, s.precision.value_or(precision), 0});
            return true;
        }
        static log::RateLimited limited;
        if (s.leap == 3) {  // chrony's sock_sample has no "unsynchronised"
            limited.warnx("%s: sample at %lld not sent: leap 3 (unsynchronised)", path.c_str(),
                          static_cast<long long>(s.time));
            return false;
        }
        const auto datagram = refclock::encode_sock({s.time, s.offset, false, s.leap});
        auto ok = socket->send_to(path, datagram);
        if (ok) return true;
        if (ok.error().exit_code != EX_UNAVAILABLE && ok.error().exit_code != EX_TEMPFAIL)
            log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
        limited.warnx("%s; sample dropped", ok.error().what.c_str());
        return false;
    }
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt;
    static const option long_options[] = {
        {"mode", required_argument, nullptr, 'm'},
        {"precision", required_argument, nullptr, 'p'},
        {"source", required_argument, nullptr, 's'},
        {"count", required_argument, nullptr, 'n'},
        {"sock", required_argument, nullptr, kSock},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":m:p:s:n:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'm': opt.mode = file_mode_option("--mode", optarg); break;
        case 'p': opt.precision = static_cast<int>(int_option("--precision", optarg, -128, 127)); break;
        case 's': opt.source = optarg; break;
        case 'n': opt.count = static_cast<std::uint64_t>(int_option("--count", optarg, 1, 1L << 62)); break;
        case kSock: opt.sock = optarg; break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("shm-export %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (opt.sock.empty()) {
        if (optind == argc) log::fatalx(EX_USAGE, "missing unit (see -h)");
        opt.unit = static_cast<int>(int_option("unit", argv[optind++], 0, refclock::kShmMaxUnit));
    } else if (opt.mode) {
        log::fatalx(EX_USAGE, "--mode: not with --sock");
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);

    Sink sink;
    sink.precision = opt.precision;
    if (opt.unit) {
        const int perm = opt.mode.value_or(refclock::default_shm_perm(*opt.unit));
        auto seg = ShmSegment::attach(*opt.unit, {.perm = perm, .create = true, .read_only = false});
        if (!seg) log::fatalx(seg.error().exit_code, "%s", seg.error().what.c_str());
        sink.segment = std::move(*seg);
    } else {
        auto s = UnixDatagramSocket::client();
        if (!s) log::fatalx(s.error().exit_code, "%s", s.error().what.c_str());
        sink.socket = std::move(*s);
        sink.path = opt.sock;
    }

    // --status-socket: the newest sample handed on per source, and the counters.
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    if (!opt.status_socket.empty()) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"shm-export", 0, self.pid, self.started, TIMEPIPE_VERSION, opt.status_socket});
        auto s = StatusSocket::open(opt.status_socket, static_cast<mode_t>(opt.status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }
    std::uint64_t samples = 0, other_source = 0, skipped = 0, written = 0, dropped = 0;
    auto publish_counters = [&] {
        if (!status) return;
        status->publish(to_record(Stats{"shm-export", wall_clock_now(),
                                        {{"samples", samples}, {"other_source", other_source}, {"skipped", skipped},
                                         {"written", written}, {"dropped", dropped}}}));
    };
    publish_counters();
    StreamDecoder dec;
    auto in = InputFile::standard_input();
    std::vector<std::byte> buf(64 * 1024);
    for (bool eof = false; !eof;) {
        auto n = in.read_some(buf);
        if (!n) log::fatalx(n.error().exit_code, "stdin: %s", n.error().what.c_str());
        eof = *n == 0;
        if (eof) dec.finish();
        else dec.feed(std::span<const std::byte>(buf.data(), *n));
        for (;;) {
            const auto at = dec.offset();
            auto r = dec.next();
            if (!r) log::fatalx(r.error().exit_code, "stdin: %s", escape_controls(r.error().what).c_str());
            if (!*r) break;
            if (record_type(**r) != Sample::kType) continue;
            auto s = from_record<Sample>(**r);
            if (!s)
                log::fatalx(s.error().exit_code, "stdin: byte %llu: %s", static_cast<unsigned long long>(at),
                            escape_controls(s.error().what).c_str());
            ++samples;
            if (!opt.source.empty() && s->source != opt.source) {
                ++other_source;
                continue;
            }
            if (const char* why = unusable(*s)) {
                ++skipped;
                log::info("%s: sample at %lld skipped: %s", escape_controls(s->source).c_str(),
                          static_cast<long long>(s->time), why);
                continue;
            }
            if (!sink.put(*s)) {
                ++dropped;
                continue;
            }
            log::debug("%s: offset %+.9f s written", escape_controls(s->source).c_str(), s->offset);
            if (status) status->publish(**r);
            if (++written == opt.count) return 0;
        }
        publish_counters();  // what this read brought, before the next one waits
    }
    if (dropped != 0)
        log::fatalx(EX_UNAVAILABLE, "%s: %llu of %llu samples not delivered", opt.sock.c_str(),
                    static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(dropped + written));
    return 0;
}
