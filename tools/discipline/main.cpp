// discipline: sample records in, adjust and tracking records out; the clock discipline of the
// pipeline `ntp-query --follow HOST | discipline | clockadj`. See man/discipline.1.
#include <cstdio>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/discipline/discipline.hpp"
#include "libtime/discipline/driftfile.hpp"
#include "libtime/discipline/leap_file.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/status_socket.hpp"
#include "libtime/observe/snapshot.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::discipline;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-o text|json|cbor] [--driftfile FILE] [--leapfile FILE]\n"
                 "        [--min-sources N] [--min-bounds N] [--minpoll N] [--maxpoll N]\n"
                 "        [--step-threshold S] [--step-limit N] [--step-always] [--panic S]\n"
                 "        [--holdover S] [--max-drift PPM] [--max-jitter S] [--max-slew-rate PPM]\n"
                 "        [--status-socket PATH [--status-mode MODE]]\n"
                 "  reads sample records on stdin, writes adjust and tracking records\n"
                 "  -o, --output FORMAT     text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                          CBOR otherwise)\n"
                 "  --driftfile FILE        keep the frequency estimate in FILE\n"
                 "  --leapfile FILE         leap seconds from a leap-seconds.list\n"
                 "  --min-sources N         sources that must agree before the clock moves (1)\n"
                 "  --min-bounds N          verified Roughtime bounds needed before it moves (0)\n"
                 "  --minpoll N, --maxpoll N  poll interval bounds, log2 s (6, 10)\n"
                 "  --step-threshold S      step above this offset, else slew (0.128; 0: never)\n"
                 "  --step-limit N          ... only in the first N updates (3)\n"
                 "  --step-always           ... in any update\n"
                 "  --panic S               refuse and exit beyond this offset (1000)\n"
                 "  --holdover S            unsynchronised after this long without an update (1h)\n"
                 "  --max-drift PPM         how fast a Roughtime bound widens with age (100)\n"
                 "  --max-jitter S          a source more variable than this is not selected (1)\n"
                 "  --max-slew-rate PPM     the fastest temporary frequency offset (83333)\n"
                 "  --status-socket PATH    answer status snapshots (tracking, each source's\n"
                 "                          selection mark) on this Unix socket\n"
                 "  --status-mode MODE      its file mode, octal (0666)\n"
                 "  -v, --verbose           more messages on standard error\n"
                 "  -h, --help              this help\n"
                 "  -V, --version           print the version\n",
                 std::string(log::program()).c_str());
}

double seconds(std::chrono::nanoseconds d) { return static_cast<double>(d.count()) / 1e9; }

void write_drift(const char* path, const Discipline& d) {
    auto ok = write_file_atomic(path, format_driftfile({d.frequency(), d.skew()}));
    if (!ok) log::warnx("%s: %s", path, ok.error().what.c_str());
}

// -v: steps, refusals and changes of synchronisation, one line each on standard error.
void say(const Record& rec) {
    auto type = record_type(rec);
    if (type == Refusal::kType) {
        if (auto r = from_record<Refusal>(rec)) log::info("refused: %s", escape_controls(r->reason).c_str());
    } else if (type == Adjust::kType) {
        auto a = from_record<Adjust>(rec);
        if (a && a->step) log::info("step %+.9f s: %s", *a->step, escape_controls(a->reason.value_or("")).c_str());
    } else if (type == Tracking::kType) {
        static std::optional<bool> synchronised;
        auto t = from_record<Tracking>(rec);
        if (t && synchronised != t->synchronised) {
            synchronised = t->synchronised;
            if (t->synchronised) log::info("synchronised to %s", escape_controls(t->source).c_str());
            else log::info("unsynchronised: no update for longer than --holdover");
        }
    }
}

enum {
    kDriftfile = 256, kLeapfile, kMinSources, kMinBounds, kMinpoll, kMaxpoll, kStepThreshold, kStepLimit,
    kStepAlways, kPanic, kHoldover, kMaxDrift, kMaxJitter, kMaxSlewRate, kStatusSocket, kStatusMode,
};

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    OutputFormat output = default_output_format();
    DisciplineConfig config;
    const char* driftfile = nullptr;
    const char* leapfile = nullptr;
    std::optional<std::string> status_path;
    int status_mode = 0666;

    static const option long_options[] = {
        {"output", required_argument, nullptr, 'o'},
        {"driftfile", required_argument, nullptr, kDriftfile},
        {"leapfile", required_argument, nullptr, kLeapfile},
        {"min-sources", required_argument, nullptr, kMinSources},
        {"min-bounds", required_argument, nullptr, kMinBounds},
        {"minpoll", required_argument, nullptr, kMinpoll},
        {"maxpoll", required_argument, nullptr, kMaxpoll},
        {"step-threshold", required_argument, nullptr, kStepThreshold},
        {"step-limit", required_argument, nullptr, kStepLimit},
        {"step-always", no_argument, nullptr, kStepAlways},
        {"panic", required_argument, nullptr, kPanic},
        {"holdover", required_argument, nullptr, kHoldover},
        {"max-drift", required_argument, nullptr, kMaxDrift},
        {"max-jitter", required_argument, nullptr, kMaxJitter},
        {"max-slew-rate", required_argument, nullptr, kMaxSlewRate},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'o':
            if (auto f = parse_output_format(optarg)) output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case kDriftfile: driftfile = optarg; break;
        case kLeapfile: leapfile = optarg; break;
        case kMinSources: config.min_sources = static_cast<std::size_t>(int_option("--min-sources", optarg, 1, 64)); break;
        case kMinBounds: config.min_bounds = static_cast<std::size_t>(int_option("--min-bounds", optarg, 0, 64)); break;
        case kMinpoll: config.loop.min_poll = static_cast<int>(int_option("--minpoll", optarg, 0, 17)); break;
        case kMaxpoll: config.loop.max_poll = static_cast<int>(int_option("--maxpoll", optarg, 0, 17)); break;
        case kStepThreshold: config.loop.step_threshold = seconds(duration_or_zero_option("--step-threshold", optarg)); break;
        case kStepLimit: config.loop.step_limit = static_cast<int>(int_option("--step-limit", optarg, 0, 1000000)); break;
        case kStepAlways: config.loop.step_always = true; break;
        case kPanic: config.loop.panic = seconds(duration_option("--panic", optarg)); break;
        case kHoldover: config.holdover = seconds(duration_option("--holdover", optarg)); break;
        case kMaxDrift: config.max_drift = static_cast<double>(int_option("--max-drift", optarg, 1, 100000)) * 1e-6; break;
        case kMaxJitter: config.max_jitter = seconds(duration_option("--max-jitter", optarg)); break;
        case kMaxSlewRate:
            config.loop.max_slew_rate = static_cast<double>(int_option("--max-slew-rate", optarg, 1, 100000)) * 1e-6;
            break;
        case kStatusSocket: status_path = optarg; break;
        case kStatusMode: status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("discipline %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);
    if (config.loop.max_poll < config.loop.min_poll)
        log::fatalx(EX_USAGE, "--maxpoll: %d is below --minpoll %d", config.loop.max_poll, config.loop.min_poll);

    if (leapfile) {
        auto text = read_file(leapfile, kMaxLeapFileBytes);
        if (!text) log::fatalx(text.error().exit_code, "%s: %s", leapfile, text.error().what.c_str());
        auto table = parse_leap_file(*text);
        if (!table) log::fatalx(table.error().exit_code, "%s: %s", leapfile, table.error().what.c_str());
        config.leap_table = std::move(*table);
    }
    if (driftfile) {
        auto text = read_file(driftfile, 4096);
        if (text) {
            auto drift = parse_driftfile(*text);
            if (!drift) log::fatalx(drift.error().exit_code, "%s: %s", driftfile, drift.error().what.c_str());
            config.frequency = drift->frequency;
            log::info("%s: starting at %.3f ppm", driftfile, drift->frequency);
        } else if (text.error().exit_code != EX_NOINPUT) {
            log::fatalx(text.error().exit_code, "%s: %s", driftfile, text.error().what.c_str());
        }
    }

    Discipline d(config);
    RecordWriter w(output);
    // --status-socket: tracking, refusals, adjust and each source's mark, served from its own
    // thread while this one blocks reading stdin.
    const ProcessIdentity self = this_process();
    observe::SnapshotStore status_store({"discipline", 0, self.pid, self.started, TIMEPIPE_VERSION, status_path});
    std::optional<StatusSocket> status_socket;
    if (status_path) {
        auto s = StatusSocket::open(*status_path, static_cast<mode_t>(status_mode),
                                    [&] { return status_store.encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }
    std::optional<UnixNanos> drift_written;
    std::optional<bool> leap_expiry_said;
    StreamDecoder dec;
    auto in = InputFile::standard_input();
    std::vector<std::byte> buf(64 * 1024);
    for (bool eof = false; !eof;) {
        auto n = in.read_some(buf);
        if (!n) {
            w.flush();
            log::fatalx(n.error().exit_code, "stdin: %s", n.error().what.c_str());
        }
        eof = *n == 0;
        if (eof) dec.finish();
        else dec.feed(std::span<const std::byte>(buf.data(), *n));
        for (;;) {
            auto at = dec.offset();
            auto r = dec.next();
            if (!r) {
                w.flush();
                log::fatalx(r.error().exit_code, "stdin: %s", escape_controls(r.error().what).c_str());
            }
            if (!*r) break;
            auto out = d.on_record(**r);
            if (!out) {
                w.flush();
                log::fatalx(out.error().exit_code, "stdin: byte %llu: %s", static_cast<unsigned long long>(at),
                            escape_controls(out.error().what).c_str());
            }
            if (status_socket) {
                for (const auto& rec : out->records) status_store.publish(rec);
                for (const auto& st : d.source_states()) status_store.publish(to_record(st));
            }
            for (const auto& rec : out->records) {
                // text: aged from the record's own time, not the wall clock (replays are identical)
                w.write(rec, rec.contains("time") && rec["time"].is_number_integer() ? rec["time"].get<std::int64_t>() : 0);
                if (log::verbosity() > 0) say(rec);
            }
            w.flush();
            if (out->fatal) log::fatalx(EX_SOFTWARE, "%s", out->fatal_line.c_str());
            if (config.leap_table && !leap_expiry_said && d.last_time() != 0 &&
                leap_file_expired(*config.leap_table, d.last_time())) {
                leap_expiry_said = true;
                log::warnx("%s: expired; leap seconds from the sources instead", leapfile);
            }
            if (driftfile && d.updates() > 0 && drift_due(drift_written, d.last_time())) {
                if (drift_written) write_drift(driftfile, d);
                drift_written = d.last_time();
            }
        }
    }
    if (driftfile && d.updates() > 0) write_drift(driftfile, d);
    return 0;
}
