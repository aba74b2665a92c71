// gps-reader: NMEA 0183 from a GPS receiver (serial device, pty, file or stdin) to gps_fix and
// sample records of the time stream. See man/gps-reader.1.
#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <getopt.h>
#include <optional>
#include <string>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/refclock/gps.hpp"
#include "libtime/refclock/nmea.hpp"
#include "libtime/stream/gps_fix.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/serial.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/status_socket.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

constexpr int kMaxSaid = 20;  // bad sentences described with -v before they are only counted

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-d DEVICE] [-s BAUD] [-o text|json|cbor] [-n COUNT] [-x SECONDS]\n"
                 "        [--min-sats N] [--lock N] [--offset S] [--max-ahead S] [--max-jump S]\n"
                 "        [--not-before YYYY-MM-DD] [--replay] [--status-socket PATH]\n"
                 "  reads NMEA 0183 (GGA, RMC, ZDA, GNS) and writes gps_fix and sample records\n"
                 "  -d, --device PATH       serial device, pty, FIFO or file; - is stdin (default)\n"
                 "  -s, --speed BAUD        terminal speed, 8N1 raw (default 9600)\n"
                 "  -o, --output FORMAT     text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                          CBOR otherwise)\n"
                 "  -n, --count COUNT       stop after COUNT sample records\n"
                 "  -x, --seconds S         stop after S seconds\n"
                 "  --min-sats N            satellites a valid fix needs (4; 0: not checked)\n"
                 "  --lock N                consecutive valid seconds before samples (3)\n"
                 "  --offset S              the receiver's fixed delay, subtracted (0)\n"
                 "  --max-ahead S           refuse times further ahead of the local clock (24h)\n"
                 "  --max-jump S            refuse a second off the last one's timeline (0.5)\n"
                 "  --not-before DATE       earlier dates are week rollovers (build date -\n"
                 "                          512 weeks)\n"
                 "  --replay                stamp epochs one second apart (a file: always)\n"
                 "  --status-socket PATH    answer status snapshots on this Unix socket\n"
                 "  --status-mode MODE      its file mode, octal (0666)\n"
                 "  -v, --verbose           describe bad sentences and refusals on stderr\n"
                 "  -h, --help              this help\n"
                 "  -V, --version           print the version\n",
                 std::string(log::program()).c_str());
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::optional<NmeaDate> parse_date(const char* s) {
    int y = 0, m = 0, d = 0;
    char tail = 0;
    if (std::sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1980 || m < 1 || m > 12 || d < 1 || d > 31)
        return std::nullopt;
    NmeaDate date{y, m, d};
    if (civil_from_days(days_from_civil(y, m, d)) != date) return std::nullopt;  // 2021-02-30
    return date;
}

// __DATE__ is "Dec  5 2026".
NmeaDate build_date() {
    static constexpr const char* kMonths = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char* date = __DATE__;
    int m = static_cast<int>((std::strstr(kMonths, std::string(date, 3).c_str()) - kMonths) / 3) + 1;
    return {std::atoi(date + 7), m, std::atoi(date + 4)};
}

std::string device_name(const std::string& path) {
    if (path == "-") return "stdin";
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

enum { kMinSats = 256, kLock, kOffset, kMaxAhead, kMaxJump, kNotBefore, kReplay, kStatusSocket, kStatusMode };

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    OutputFormat output = default_output_format();
    std::string device = "-";
    long speed = 9600;
    long count = 0;
    std::optional<std::chrono::nanoseconds> run_for;
    bool replay = false;
    std::string status_path;
    int status_mode = 0666;
    // Half a rollover period before the build date: a receiver 1024 weeks behind is caught for
    // 512 weeks (9.8 years) after the build, and captures up to 9.8 years old replay as they are.
    NmeaDate not_before = civil_from_days(days_from_civil(build_date().year, build_date().month, build_date().day) - 512 * 7);
    GpsConfig config;

    static const option long_options[] = {
        {"device", required_argument, nullptr, 'd'},
        {"speed", required_argument, nullptr, 's'},
        {"output", required_argument, nullptr, 'o'},
        {"count", required_argument, nullptr, 'n'},
        {"seconds", required_argument, nullptr, 'x'},
        {"min-sats", required_argument, nullptr, kMinSats},
        {"lock", required_argument, nullptr, kLock},
        {"offset", required_argument, nullptr, kOffset},
        {"max-ahead", required_argument, nullptr, kMaxAhead},
        {"max-jump", required_argument, nullptr, kMaxJump},
        {"not-before", required_argument, nullptr, kNotBefore},
        {"replay", no_argument, nullptr, kReplay},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:s:o:n:x:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 's':
            speed = int_option("--speed", optarg, 50, 4000000);
            if (!serial_speed_supported(speed)) log::fatalx(EX_USAGE, "--speed: %ld is not a serial speed", speed);
            break;
        case 'o':
            if (auto f = parse_output_format(optarg)) output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 'n': count = int_option("-n", optarg, 1, 1L << 40); break;
        case 'x': run_for = duration_option("-x", optarg); break;
        case kMinSats: config.min_satellites = static_cast<int>(int_option("--min-sats", optarg, 0, 99)); break;
        case kLock: config.lock = static_cast<int>(int_option("--lock", optarg, 1, 3600)); break;
        case kOffset: config.offset = seconds(signed_duration_option("--offset", optarg)); break;
        case kMaxAhead: config.max_ahead = seconds(duration_option("--max-ahead", optarg)); break;
        case kMaxJump: config.max_jump = seconds(duration_option("--max-jump", optarg)); break;
        case kNotBefore:
            if (auto d = parse_date(optarg)) not_before = *d;
            else log::fatalx(EX_USAGE, "--not-before: \"%s\" is not a date YYYY-MM-DD", optarg);
            break;
        case kReplay: replay = true; break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("gps-reader %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);

    // Signals first: once the device is set up (its speed visible), SIGTERM is a clean end.
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    auto in = SerialInput::open(device, speed);
    if (!in) log::fatalx(in.error().exit_code, "%s: %s", device.c_str(), in.error().what.c_str());

    const std::string name = device_name(device);
    config.source = "gps://" + name;
    config.not_before = days_from_civil(not_before.year, not_before.month, not_before.day) * 86400 * kNanosPerSecond;
    config.replay = replay || in->kind() == SerialInput::Kind::regular_file;
    GpsReceiver rx(config);
    SentenceSplitter split;
    RecordWriter w(output);
    std::map<std::string, std::uint64_t> faults;
    long samples = 0;
    int said = 0;
    bool done = false;
    SystemClock clock;

    // The counters, as the stats record at the end says them.
    auto stats = [&] {
        Stats st{.source = config.source, .time = config.replay ? rx.last_time() : clock.now(), .counters = rx.counters()};
        for (const auto& [k, n] : faults) st.counters[k] = n;
        st.counters["garbage_bytes"] = split.garbage_bytes();
        st.counters["truncated"] = split.truncated();
        st.counters["too_long"] = split.too_long();
        return st;
    };
    // --status-socket: the newest gps_fix and sample written, and the counters so far.
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    if (!status_path.empty()) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"gps-reader", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
        auto s = StatusSocket::open(status_path, static_cast<mode_t>(status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }
    auto write = [&](const Record& r, UnixNanos t) {
        w.write(r, t);
        if (status) status->publish(r);
    };

    auto on_line = [&](std::string_view line, UnixNanos first_byte) {
        SentenceFault why = SentenceFault::none;
        auto s = parse_sentence(line, &why);
        if (!s) {
            static constexpr const char* kNames[] = {"ok", "not_sentence", "no_checksum", "bad_checksum", "unknown_type", "bad_field"};
            ++faults[kNames[static_cast<int>(why)]];
            if (why != SentenceFault::unknown_type && log::verbosity() > 0 && said < kMaxSaid) {
                log::warnx("%s: %s%s", name.c_str(), escape_controls(s.error().what).c_str(),
                           ++said == kMaxSaid ? " (further bad sentences only counted)" : "");
            }
            return;
        }
        for (auto& e : rx.on_sentence(*s, first_byte)) {
            if (done) break;
            write(to_record(e.fix), e.fix.time);
            if (!e.fix.valid && log::verbosity() > 0)
                log::info("%s: %s refused: %s", name.c_str(), e.fix.utc.value_or("epoch").c_str(), e.fix.reason->c_str());
            if (e.sample) {
                write(to_record(*e.sample), e.sample->time);
                if (count && ++samples >= count) done = true;
            }
        }
    };

    const std::int64_t deadline = run_for ? monotonic_now() + run_for->count() : 0;
    std::array<std::byte, 4096> buf;
    bool eof = false;
    while (!done && !eof && !stop_requested()) {
        std::chrono::nanoseconds wait{-1};
        if (run_for) {
            wait = std::chrono::nanoseconds(deadline - monotonic_now());
            if (wait.count() <= 0) break;
        }
        auto r = in->read_for(buf, wait);
        if (!r) {
            w.flush();
            log::fatalx(r.error().exit_code, "%s: %s", device.c_str(), r.error().what.c_str());
        }
        if (!*r) continue;
        eof = (*r)->bytes == 0;
        split.feed(std::span<const std::byte>(buf.data(), (*r)->bytes), (*r)->arrived, on_line);
        w.flush();
        if (status) status->publish(to_record(stats()));
    }
    if (!done) {
        for (auto& e : rx.finish()) {
            w.write(to_record(e.fix), e.fix.time);
            if (e.sample && (!count || samples < count)) w.write(to_record(*e.sample), e.sample->time);
        }
    }
    const Stats st = stats();
    w.write(to_record(st), st.time);
    w.flush();
    return 0;
}
