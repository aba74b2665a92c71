// pps-capture: PPS pulses from the Linux PPS API (or a simulated device), each paired with the
// UTC second a coarse source names, written as sample records. See man/pps-capture.1.
#include <cmath>
#include <cstdio>
#include <getopt.h>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/refclock/pps.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/pps.hpp"
#include "libtime/sys/pps_sim.hpp"
#include "libtime/sys/record_input.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/status_socket.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::refclock;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-d DEVICE] [-e assert|clear] [--second-from-clock]\n"
                 "        [--offset S] [--max-distance S] [--max-age S] [-t TIMEOUT]\n"
                 "        [-n COUNT] [-x SECONDS] [-o text|json|cbor] [--status-socket PATH]\n"
                 "  pairs PPS pulses with the seconds named by sample records on stdin\n"
                 "  -d, --device DEVICE     /dev/ppsN (default /dev/pps0), or sim:FILE, a simulated\n"
                 "                          device reading PPS_FETCH results from FILE\n"
                 "  -e, --edge EDGE         assert (default) or clear: the edge that marks the second\n"
                 "  --second-from-clock     the local clock names the second (it must be within\n"
                 "                          --max-distance of UTC); stdin is not read\n"
                 "  --offset S              added to every offset: the cable delay (0)\n"
                 "  --max-distance S        refuse a pulse whose coarse time is further than this\n"
                 "                          from a whole second (0.4, below 0.5)\n"
                 "  --max-age S             the coarse sample taken is at most this far from the\n"
                 "                          pulse, in local time (2)\n"
                 "  -t, --timeout S         how long one PPS_FETCH waits for an edge (2)\n"
                 "  -n, --count N           stop after N samples\n"
                 "  -x, --seconds S         stop after S seconds\n"
                 "  -o, --output FORMAT     text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                          CBOR otherwise)\n"
                 "  --status-socket PATH    answer status snapshots on this Unix socket\n"
                 "  --status-mode MODE      its file mode, octal (0666)\n"
                 "  -v, --verbose           refused and missed pulses, timeouts on standard error\n"
                 "  -h, --help              this help\n"
                 "  -V, --version           print the version\n",
                 std::string(log::program()).c_str());
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

std::string time_text(UnixNanos t) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(t / kNanosPerSecond),
                  static_cast<long long>(t % kNanosPerSecond < 0 ? -(t % kNanosPerSecond) : t % kNanosPerSecond));
    return buf;
}

// "/dev/pps0" -> "pps://pps0"; a simulated device is "pps://sim".
std::string source_name(std::string_view device) {
    if (device.starts_with("sim:")) return "pps://sim";
    auto slash = device.rfind('/');
    return "pps://" + std::string(slash == std::string_view::npos ? device : device.substr(slash + 1));
}

struct Counters {
    std::uint64_t samples = 0, no_second = 0, too_far = 0, timeouts = 0, none_yet = 0;
    std::uint64_t coarse = 0, coarse_unusable = 0;
};

// The sample records on stdin, taken as coarse seconds as they arrive (never waiting for them).
class CoarseInput {
public:
    explicit CoarseInput(bool enabled) : open_(enabled) {}

    bool open() const { return open_; }

    // Everything stdin has now (waiting up to `wait_ms` for the first of it), into `pairer`.
    void drain(PpsPairer& pairer, Counters& n, RecordWriter& w, int wait_ms = 0) {
        while (open_) {
            auto got = read_within(0, buf_, std::exchange(wait_ms, 0));
            if (!got) fatal(w, got.error().exit_code, "stdin: " + got.error().what);
            if (!*got) break;
            if (**got == 0) {
                open_ = false;
                dec_.finish();
                log::info("stdin: end of the sample stream; later pulses have no coarse second");
            } else {
                dec_.feed(std::span<const std::byte>(buf_.data(), **got));
            }
            for (;;) {
                auto at = dec_.offset();
                auto r = dec_.next();
                if (!r) fatal(w, r.error().exit_code, "stdin: " + r.error().what);
                if (!*r) break;
                if (record_type(**r) != Sample::kType) continue;
                auto s = from_record<Sample>(**r);
                if (!s) fatal(w, s.error().exit_code, "stdin: byte " + std::to_string(at) + ": " + s.error().what);
                if (auto c = coarse_from_sample(*s)) {
                    pairer.add_coarse(*c);
                    ++n.coarse;
                } else {
                    ++n.coarse_unusable;
                }
            }
        }
    }

private:
    [[noreturn]] static void fatal(RecordWriter& w, int code, const std::string& what) {
        w.flush();
        log::fatalx(code, "%s", escape_controls(what).c_str());
    }

    bool open_;
    StreamDecoder dec_;
    std::vector<std::byte> buf_ = std::vector<std::byte>(64 * 1024);
};

// How long a pulse waits on stdin for its second before the next fetch (well under a period).
constexpr std::chrono::nanoseconds kCoarseWait = std::chrono::milliseconds(500);

enum { kSecondFromClock = 256, kOffset, kMaxDistance, kMaxAge, kStatusSocket, kStatusMode };

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    OutputFormat output = default_output_format();
    std::string device = "/dev/pps0";
    PpsEdge edge = PpsEdge::assert;
    bool second_from_clock = false;
    PpsConfig config;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    std::optional<long> count;
    std::optional<std::chrono::nanoseconds> run_for;
    std::string status_path;
    int status_mode = 0666;

    static const option long_options[] = {
        {"device", required_argument, nullptr, 'd'},
        {"edge", required_argument, nullptr, 'e'},
        {"second-from-clock", no_argument, nullptr, kSecondFromClock},
        {"offset", required_argument, nullptr, kOffset},
        {"max-distance", required_argument, nullptr, kMaxDistance},
        {"max-age", required_argument, nullptr, kMaxAge},
        {"timeout", required_argument, nullptr, 't'},
        {"count", required_argument, nullptr, 'n'},
        {"seconds", required_argument, nullptr, 'x'},
        {"output", required_argument, nullptr, 'o'},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:e:t:n:x:o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'd': device = optarg; break;
        case 'e':
            if (std::string_view(optarg) == "assert") edge = PpsEdge::assert;
            else if (std::string_view(optarg) == "clear") edge = PpsEdge::clear;
            else log::fatalx(EX_USAGE, "--edge: \"%s\" is not assert or clear", escape_controls(optarg).c_str());
            break;
        case kSecondFromClock: second_from_clock = true; break;
        case kOffset: config.offset = seconds(signed_duration_option("--offset", optarg)); break;
        case kMaxDistance:
            config.max_distance = seconds(duration_option("--max-distance", optarg));
            if (config.max_distance >= 0.5) log::fatalx(EX_USAGE, "--max-distance: %s is not below 0.5 s", optarg);
            break;
        case kMaxAge: config.max_age = duration_option("--max-age", optarg).count(); break;
        case 't': timeout = duration_option("-t", optarg); break;
        case 'n': count = int_option("-n", optarg, 1, 1L << 40); break;
        case 'x': run_for = duration_option("-x", optarg); break;
        case 'o':
            if (auto f = parse_output_format(optarg)) output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("pps-capture %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);

    const bool simulated = device.starts_with("sim:");
    auto dev = simulated ? open_simulated_pps(device.substr(4)) : open_pps_device(device);
    const std::string shown = simulated ? device.substr(4) : device;
    if (!dev) log::fatalx(dev.error().exit_code, "%s: %s", shown.c_str(), dev.error().what.c_str());
    if (auto ok = (*dev)->enable(edge); !ok) log::fatalx(ok.error().exit_code, "%s: %s", shown.c_str(), ok.error().what.c_str());
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "signals: %s", ok.error().what.c_str());

    SystemClock clock;
    config.source = source_name(device);
    // A simulated device's times are exact as written; a real one's are CLOCK_REALTIME readings.
    config.precision = simulated ? -30 : clock.precision_log2();
    config.resolution = simulated ? 1e-9 : std::ldexp(1.0, clock.precision_log2());
    PpsPairer pairer(config);
    PpsSequence seq;
    Counters n;
    RecordWriter w(output);
    CoarseInput coarse(!second_from_clock);
    const std::int64_t deadline = run_for ? monotonic_now() + run_for->count() : 0;
    UnixNanos latest = 0;   // the newest edge time: the local time a simulated run has reached

    // The counters, as the stats record at the end says them.
    auto stats = [&] {
        Stats st;
        st.source = config.source;
        st.time = simulated ? latest : clock.now();
        st.counters = {
            {"pulses", seq.pulses()}, {"samples", n.samples}, {"repeated", seq.repeated()},
            {"missed", seq.missed()}, {"restarts", seq.restarts()}, {"stale", seq.stale()},
            {"none_yet", n.none_yet}, {"timeouts", n.timeouts}, {"no_second", n.no_second},
            {"too_far", n.too_far}, {"coarse", n.coarse}, {"coarse_unusable", n.coarse_unusable},
        };
        return st;
    };
    // --status-socket: the newest sample written and the counters so far.
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    if (!status_path.empty()) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"pps-capture", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
        auto s = StatusSocket::open(status_path, static_cast<mode_t>(status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }

    auto emit = [&](const std::vector<PpsOutcome>& outcomes) {
        for (const auto& o : outcomes) {
            if (o.kind == PpsOutcome::Kind::sample) {
                if (count && n.samples >= static_cast<std::uint64_t>(*count)) break;
                const Record r = to_record(o.sample);
                w.write(r, o.sample.time);
                if (status) status->publish(r);
                ++n.samples;
                continue;
            }
            ++(o.kind == PpsOutcome::Kind::no_second ? n.no_second : n.too_far);
            log::info("pulse at %s: %s", time_text(o.pulse).c_str(), o.reason.c_str());
        }
        w.flush();
        if (status) status->publish(to_record(stats()));
    };
    auto done = [&] {
        return stop_requested() || (count && n.samples >= static_cast<std::uint64_t>(*count)) ||
               (run_for && monotonic_now() >= deadline);
    };

    while (!done()) {
        if (status) status->publish(to_record(stats()));  // before a fetch that may wait
        coarse.drain(pairer, n, w);
        auto wait = timeout;
        if (run_for) wait = std::min(wait, std::chrono::nanoseconds(std::max<std::int64_t>(deadline - monotonic_now(), 0)));
        auto got = (*dev)->fetch(wait);
        if (!got) {
            w.flush();
            log::fatalx(got.error().exit_code, "%s: %s", shown.c_str(), got.error().what.c_str());
        }
        if (!*got) {
            if ((*dev)->ended()) break;
            if (stop_requested() || (run_for && monotonic_now() >= deadline)) break;
            ++n.timeouts;
            log::info("%s: no edge within %.3g s", shown.c_str(), seconds(wait));
            if (!simulated) emit(pairer.advance(clock.now()));
            continue;
        }
        const bool assert_edge = edge == PpsEdge::assert;
        std::uint32_t number = assert_edge ? (*got)->assert_sequence : (*got)->clear_sequence;
        UnixNanos t = assert_edge ? (*got)->assert_time : (*got)->clear_time;
        auto missed_before = seq.missed();
        switch (seq.on_edge(number, t)) {
        case PpsSequence::Verdict::none_yet: ++n.none_yet; continue;
        case PpsSequence::Verdict::repeated:
        case PpsSequence::Verdict::stale: continue;
        case PpsSequence::Verdict::backwards:
            log::info("%s: sequence went back to %u: counting afresh", shown.c_str(), number);
            break;
        case PpsSequence::Verdict::pulse: break;
        }
        if (seq.missed() > missed_before)
            log::info("%s: %llu pulses missed before sequence %u", shown.c_str(),
                      static_cast<unsigned long long>(seq.missed() - missed_before), number);
        if (t > latest) latest = t;
        if (second_from_clock) pairer.add_coarse(CoarseSecond{t, 0, 0});
        pairer.add_pulse(t);
        coarse.drain(pairer, n, w);   // a second named while the pulse was fetched
        emit(pairer.advance(simulated ? latest : std::max(latest, clock.now())));
        // The pulse's second is usually named a little after it: wait for it on stdin, but not
        // for long, since a fetch after the next edge would wait for the one after that.
        const std::int64_t until = monotonic_now() + kCoarseWait.count();
        while (pairer.pending() > 0 && coarse.open() && !done()) {
            const std::int64_t left = until - monotonic_now();
            if (left <= 0) break;
            coarse.drain(pairer, n, w, static_cast<int>((left + 999'999) / 1'000'000));
            emit(pairer.advance(simulated ? latest : std::max(latest, clock.now())));
        }
    }
    if (!(count && n.samples >= static_cast<std::uint64_t>(*count))) {
        if ((*dev)->ended()) coarse.drain(pairer, n, w);
        emit(pairer.finish());
    }

    const Stats st = stats();
    w.write(to_record(st), st.time);
    w.flush();
    return 0;
}
