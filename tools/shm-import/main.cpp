// shm-import: an ntpd SHM segment (written by gpsd, shm-export, anyone) read as a stream of
// sample records. See man/shm-import.1.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/refclock/shm.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/shm.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/status_socket.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace std::chrono_literals;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-o text|json|cbor] [-i interval] [-n count] [-x seconds]\n"
                 "        [-r refid] [-m mode] [--clear] [--status-socket PATH] unit\n"
                 "  reads ntpd's SHM segment UNIT (key 0x4e545030 + UNIT), writes sample records\n"
                 "  -o, --output FORMAT    text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                         CBOR otherwise)\n"
                 "  -i, --interval D       how often to look at the segment (250ms)\n"
                 "  -n, --count COUNT      stop after COUNT samples\n"
                 "  -x, --exit D           stop after this long\n"
                 "  -r, --refid ID         the samples' refid (GPS for unit 0, PPS for 1, else SHM)\n"
                 "  -m, --mode MODE        permissions of a segment it creates, octal\n"
                 "                         (default 0600 for units 0-1, 0666 for 2 and up)\n"
                 "  --clear                consume each sample (valid = 0), as ntpd and chronyd do\n"
                 "  --status-socket PATH   answer status snapshots on this Unix socket\n"
                 "  --status-mode MODE     its file mode, octal (0666)\n"
                 "  -v, --verbose          more messages on standard error\n"
                 "  -h, --help             this help\n"
                 "  -V, --version          print the version\n",
                 std::string(log::program()).c_str());
}

enum { kClear = 256, kStatusSocket, kStatusMode };

// gpsd puts a receiver's serial time in unit 0 and its PPS in unit 1 (2 and 3 when not root).
std::string default_refid(int unit) { return unit == 0 ? "GPS" : unit == 1 ? "PPS" : "SHM"; }

Sample to_sample(const refclock::ShmSample& s, int unit, const std::string& refid, int poll) {
    Sample out;
    out.source = "shm://" + std::to_string(unit);
    out.time = s.receive;
    out.offset = s.offset();
    out.delay = 0;
    out.dispersion = std::ldexp(1.0, s.precision);
    out.stratum = 0;
    out.leap = s.leap;
    out.refid = refid;
    out.poll = poll;
    out.precision = s.precision;
    return out;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    OutputFormat output = default_output_format();
    std::chrono::nanoseconds interval = 250ms;
    std::optional<std::chrono::nanoseconds> exit_after;
    std::uint64_t count = 0;
    std::optional<std::string> refid;
    std::optional<int> mode;
    bool clear = false;
    std::string status_path;
    int status_mode = 0666;

    static const option long_options[] = {
        {"output", required_argument, nullptr, 'o'},
        {"interval", required_argument, nullptr, 'i'},
        {"count", required_argument, nullptr, 'n'},
        {"exit", required_argument, nullptr, 'x'},
        {"refid", required_argument, nullptr, 'r'},
        {"mode", required_argument, nullptr, 'm'},
        {"clear", no_argument, nullptr, kClear},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:i:n:x:r:m:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'o':
            if (auto f = parse_output_format(optarg)) output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 'i': interval = duration_option("--interval", optarg); break;
        case 'n': count = static_cast<std::uint64_t>(int_option("--count", optarg, 1, 1L << 62)); break;
        case 'x': exit_after = duration_option("--exit", optarg); break;
        case 'r':
            if (std::string_view(optarg).empty() || std::string_view(optarg).size() > 4)
                log::fatalx(EX_USAGE, "--refid: \"%s\" is not 1-4 characters", optarg);
            refid = optarg;
            break;
        case 'm': mode = file_mode_option("--mode", optarg); break;
        case kClear: clear = true; break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("shm-import %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind == argc) log::fatalx(EX_USAGE, "missing unit (see -h)");
    const int unit = static_cast<int>(int_option("unit", argv[optind++], 0, refclock::kShmMaxUnit));
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);
    if (!refid) refid = default_refid(unit);
    const int poll = std::clamp(static_cast<int>(std::lround(std::log2(static_cast<double>(interval.count()) / 1e9))), -128, 127);

    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    // Created if absent, as chronyd does, so the reader may start before the writer.
    auto seg = ShmSegment::attach(unit, {.perm = mode.value_or(refclock::default_shm_perm(unit)), .create = true, .read_only = !clear});
    if (!seg) log::fatalx(seg.error().exit_code, "%s", seg.error().what.c_str());

    // --status-socket: the newest sample written and the counters.
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    if (!status_path.empty()) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"shm-import", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
        auto s = StatusSocket::open(status_path, static_cast<mode_t>(status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }

    RecordWriter w(output);
    refclock::ShmReader reader(clear);
    log::RateLimited limited;
    std::uint64_t written = 0, torn = 0, bad = 0;
    auto publish_counters = [&] {
        if (status)
            status->publish(
                to_record(Stats{"shm-import", wall_clock_now(), {{"samples", written}, {"torn", torn}, {"bad", bad}}}));
    };
    const auto start = std::chrono::steady_clock::now();
    while (!stop_requested()) {
        auto got = reader.read(seg->time());
        // A torn copy means the writer was busy right then: look again at once, a few times.
        for (int i = 0; i < 3 && got == refclock::ShmRead::torn; ++i) {
            ++torn;
            log::debug("unit %d: torn read, count changed during the copy", unit);
            got = reader.read(seg->time());
        }
        if (got == refclock::ShmRead::bad) {
            ++bad;
            limited.warnx("unit %d: %s", unit, std::string(reader.why()).c_str());
        } else if (got == refclock::ShmRead::fresh) {
            const auto rec = to_record(to_sample(reader.sample(), unit, *refid, poll));
            w.write(rec, reader.sample().receive);
            w.flush();
            if (status) status->publish(rec);
            ++written;
            if (count != 0 && written >= count) break;
        }
        publish_counters();
        if (exit_after && std::chrono::steady_clock::now() - start >= *exit_after) break;
        std::this_thread::sleep_for(interval);
    }
    w.flush();
    if (torn != 0) log::info("unit %d: %llu torn reads discarded", unit, static_cast<unsigned long long>(torn));
    return 0;
}
