// clockadj: apply `adjust` records to a clock with clock_adjtime(2); write what was done as
// `applied` records. The only timepipe tool that changes a clock. See man/clockadj.8.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <getopt.h>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/discipline/clock_plan.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/sys/record_input.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/sys/clock_adjust.hpp"
#include "libtime/sys/signal.hpp"
#include "libtime/sys/status_socket.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
namespace dsc = timepipe::discipline;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hnVv] [--clock /dev/ptpN] [--max-step S] [-o text|json|cbor] [FILE|-]\n"
                 "       %s --show [--clock /dev/ptpN]\n"
                 "  -n, --dry-run         print what would be done; touch no clock\n"
                 "  -c, --clock DEVICE    a PTP hardware clock instead of CLOCK_REALTIME\n"
                 "  -m, --max-step S      refuse steps larger than S (default 1000s)\n"
                 "  -o, --output FORMAT   applied records as text, JSON lines or CBOR (default:\n"
                 "                        text on a terminal, CBOR otherwise)\n"
                 "  -s, --show            print the clock's frequency and status, change nothing\n"
                 "      --status-socket PATH  answer status snapshots on this Unix socket\n"
                 "      --status-mode MODE    its file mode, octal (0666)\n"
                 "  -v, --verbose         more messages on standard error\n"
                 "  -h, --help            this help\n"
                 "  -V, --version         print the version\n"
                 "Reads adjust records from FILE (a FIFO keeps being read across writers), from\n"
                 "the FIFO systemd passes (LISTEN_FDS), or from standard input.\n",
                 std::string(log::program()).c_str(), std::string(log::program()).c_str());
}

struct Options {
    bool dry_run = false;
    bool show = false;
    std::string clock;  // empty: CLOCK_REALTIME
    double max_step = 1000;
    OutputFormat output = OutputFormat::cbor;
    std::string input;  // empty: systemd's fd or stdin
    std::string status_socket;
    int status_mode = 0666;
};

std::string text_of(const Applied& a) {
    std::string s = a.source;
    char buf[128];
    if (a.step) {
        std::snprintf(buf, sizeof buf, " step %+.9f s", *a.step);
        s += buf;
    }
    if (a.frequency) {
        std::snprintf(buf, sizeof buf, " frequency %+.6f ppm", *a.frequency);
        s += buf;
    }
    if (a.slew) {
        std::snprintf(buf, sizeof buf, " slew %+.9f s", *a.slew);
        s += buf;
        if (a.slew_duration) {
            std::snprintf(buf, sizeof buf, " over %.3f s", *a.slew_duration);
            s += buf;
        }
    }
    if (a.leap) s += *a.leap == 1 ? " leap insert" : *a.leap == 2 ? " leap delete" : " leap none";
    if (a.interference.value_or(false)) s += " interference";
    if (a.dry_run) s += " (dry run)";
    return s + "\n";
}

// The applied records: text in clockadj's own words, the other formats as every tool writes
// them; flushed at once (an audit trail).
class Writer {
public:
    Writer(OutputFormat f, observe::SnapshotStore* status) : out_(f), status_(status) {}
    void write(const Applied& a) {
        const Record r = to_record(a);
        out_.write(r, text_of(a));
        out_.flush();
        if (status_) status_->publish(r);
    }
    // --status-socket: the counters, whenever they change.
    void counters(std::map<std::string, std::uint64_t> counters) {
        if (status_) status_->publish(to_record(Stats{"clockadj", wall_clock_now(), std::move(counters)}));
    }

private:
    RecordWriter out_;
    observe::SnapshotStore* status_;
};

// The types clockadj expects beside "adjust" in a discipline's output: skipped without a word.
bool known_other_type(std::string_view t) {
    return t == Tracking::kType || t == Refusal::kType || t == Applied::kType || t == Sample::kType ||
           t == Stats::kType || t == RoughtimeConflict::kType;
}

class Applier {
public:
    Applier(const Options& opt, std::optional<AdjustableClock> clock, Writer& w)
        : clock_(std::move(clock)), w_(w) {
        popt_.max_step = opt.max_step;
        popt_.dry_run = opt.dry_run;
        popt_.clock_name = clock_ ? clock_->name() : (opt.clock.empty() ? "CLOCK_REALTIME" : opt.clock);
        popt_.leap_supported = opt.clock.empty();
        popt_.tick_hz = opt.clock.empty() ? kernel_tick_hz() : 0;  // a PTP clock has no tick
    }

    // Takes the clock's rate (frequency and tick) as the base (0 with --dry-run).
    void start() {
        if (!clock_) return;
        auto r = clock_->read();
        if (!r) log::fatalx(r.error().exit_code, "%s: %s", name(), r.error().what.c_str());
        st_.base_ppm = dsc::rate_ppm({r->freq_scaled, r->tick}, popt_.tick_hz);
    }

    void on_record(const Record& rec, std::uint64_t index, const char* input) {
        auto type = record_type(rec);
        if (type != Adjust::kType) {
            if (known_other_type(type)) {
                ++counts_.skipped;
                return;
            }
            refuse(input, index, "type \"" + escape_controls(std::string(type)) + "\": not an adjust record");
            return;
        }
        ++counts_.adjust;
        auto a = from_record<Adjust>(rec);
        if (!a) {
            refuse(input, index, a.error().what);
            return;
        }
        auto plan = dsc::plan_adjust(*a, st_, popt_, realtime_now(), monotonic_now());
        if (!plan) {
            refuse(input, index, plan.error().what);
            return;
        }
        perform(*plan);
    }

    // The timers: the end of a slew, the end of a leap day. Returns the poll timeout (ms, -1 none).
    int run_timers() {
        if (st_.slewing() && monotonic_now() >= st_.slew_end) perform(dsc::end_slew(st_, popt_, realtime_now()));
        if (st_.leap != dsc::LeapArm::none && realtime_now() >= st_.leap_disarm_at)
            perform(dsc::disarm_leap(st_, popt_, realtime_now()));
        std::int64_t wait = -1;
        if (st_.slewing()) wait = std::max<std::int64_t>(0, st_.slew_end - monotonic_now());
        if (st_.leap != dsc::LeapArm::none) {
            std::int64_t w = std::max<std::int64_t>(0, st_.leap_disarm_at - realtime_now());
            wait = wait < 0 ? w : std::min(wait, w);
        }
        if (wait < 0) return -1;
        return static_cast<int>(std::min<std::int64_t>((wait + 999'999) / 1'000'000, 60'000));
    }

    // At exit: the rest of a slew is dropped, the base frequency stays.
    void finish() {
        if (!st_.slewing()) return;
        double left = st_.slew_remaining(monotonic_now());
        log::info("%s: slew: %.9f s of %.9f s left undone at exit", name(), left, st_.slew_total);
        perform(dsc::end_slew(st_, popt_, realtime_now()));
    }

    std::uint64_t refused() const { return counts_.refused; }

    // What the status socket shows: records taken and refused, and what was done to the clock.
    std::map<std::string, std::uint64_t> counters() const {
        return {{"adjust", counts_.adjust},       {"refused", counts_.refused}, {"skipped", counts_.skipped},
                {"applied", counts_.applied},     {"steps", counts_.steps},     {"slews", counts_.slews},
                {"frequency", counts_.frequency}, {"leaps", counts_.leaps},     {"interference", counts_.interference}};
    }

private:
    const char* name() const { return popt_.clock_name.c_str(); }

    UnixNanos realtime_now() const {
        if (clock_) {
            auto t = clock_->now();
            if (!t) log::fatalx(t.error().exit_code, "%s: %s", name(), t.error().what.c_str());
            return *t;
        }
        auto t = wall_.now();
        if (!t) log::fatalx(t.error().exit_code, "CLOCK_REALTIME: %s", t.error().what.c_str());
        return *t;
    }

    void refuse(const char* input, std::uint64_t index, const std::string& why) {
        ++counts_.refused;
        log::warnx("%s: record %llu refused: %s", input, static_cast<unsigned long long>(index),
                   escape_controls(why).c_str());
    }

    void perform(dsc::Plan plan) {
        for (auto& n : plan.notes) log::info("%s: %s", name(), n.c_str());
        if (clock_) {
            check_interference(plan.applied);
            if (plan.step) {
                log::debug("%s: clock_adjtime ADJ_SETOFFSET|ADJ_NANO tv_sec %lld tv_nsec %lld", name(),
                           static_cast<long long>(plan.step->sec), static_cast<long long>(plan.step->nsec));
                if (auto ok = clock_->step(plan.step->sec, plan.step->nsec); !ok)
                    log::fatalx(ok.error().exit_code, "%s: %s", name(), ok.error().what.c_str());
            }
            int leap = plan.leap == dsc::LeapArm::insert ? 1 : plan.leap == dsc::LeapArm::del ? 2 : 0;
            log::debug("%s: clock_adjtime ADJ_FREQUENCY freq %lld%s leap %d", name(),
                       static_cast<long long>(plan.rate.freq_scaled), tick_text(plan.rate).c_str(), leap);
            auto status = clock_->set_frequency_status(plan.rate.freq_scaled, plan.rate.tick, leap);
            if (!status) log::fatalx(status.error().exit_code, "%s: %s", name(), status.error().what.c_str());
            last_rate_ = plan.rate;
            last_status_ = *status & managed_status_bits();
        } else {
            if (plan.step)
                log::debug("%s: would clock_adjtime ADJ_SETOFFSET|ADJ_NANO tv_sec %lld tv_nsec %lld", name(),
                           static_cast<long long>(plan.step->sec), static_cast<long long>(plan.step->nsec));
            log::debug("%s: would clock_adjtime ADJ_FREQUENCY freq %lld%s", name(),
                       static_cast<long long>(plan.rate.freq_scaled), tick_text(plan.rate).c_str());
        }
        st_ = plan.next;
        count(plan.applied);
        w_.write(plan.applied);
    }

    void count(const Applied& a) {
        ++counts_.applied;
        if (a.step) ++counts_.steps;
        if (a.slew) ++counts_.slews;
        if (a.frequency) ++counts_.frequency;
        if (a.leap.value_or(0) != 0) ++counts_.leaps;
        if (a.interference.value_or(false)) ++counts_.interference;
    }

    static std::string tick_text(const dsc::KernelRate& r) {
        return r.tick > 0 ? " ADJ_TICK tick " + std::to_string(r.tick) : std::string();
    }

    // Before each change: has another program changed what clockadj set last?
    void check_interference(Applied& applied) {
        if (!last_rate_) return;
        auto r = clock_->read();
        if (!r) log::fatalx(r.error().exit_code, "%s: %s", name(), r.error().what.c_str());
        dsc::KernelRate now{r->freq_scaled, r->tick};
        bool freq_changed = now.freq_scaled != last_rate_->freq_scaled || (last_rate_->tick > 0 && now.tick != last_rate_->tick);
        bool status_changed = !clock_->is_ptp() && (r->status & managed_status_bits()) != last_status_;
        if (!freq_changed && !status_changed) return;
        applied.interference = true;
        if (said_interference_) return;
        said_interference_ = true;
        if (freq_changed)
            log::warnx("%s: clock interference: frequency changed from %.6f to %.6f ppm by another program", name(),
                       dsc::rate_ppm(*last_rate_, popt_.tick_hz), dsc::rate_ppm(now, popt_.tick_hz));
        else
            log::warnx("%s: clock interference: status changed from 0x%x to 0x%x by another program", name(),
                       static_cast<unsigned>(last_status_), static_cast<unsigned>(r->status & managed_status_bits()));
    }

    std::optional<AdjustableClock> clock_;
    AdjustableClock wall_ = AdjustableClock::realtime();  // read only, for --dry-run
    Writer& w_;
    dsc::PlanOptions popt_;
    dsc::ClockState st_;
    std::optional<dsc::KernelRate> last_rate_;
    int last_status_ = 0;
    bool said_interference_ = false;
    struct {
        std::uint64_t adjust = 0, refused = 0, skipped = 0, applied = 0, steps = 0, slews = 0, frequency = 0,
                      leaps = 0, interference = 0;
    } counts_;
};

int show(const Options& opt) {
    std::optional<AdjustableClock> clock;
    if (opt.clock.empty()) {
        clock = AdjustableClock::realtime();
    } else {
        auto c = AdjustableClock::open_ptp(opt.clock, false);
        if (!c) log::fatalx(c.error().exit_code, "%s: %s", opt.clock.c_str(), c.error().what.c_str());
        clock = std::move(*c);
    }
    auto r = clock->read();
    if (!r) log::fatalx(r.error().exit_code, "%s: %s", clock->name().c_str(), r.error().what.c_str());
    int hz = clock->is_ptp() ? 0 : kernel_tick_hz();
    std::printf("%s frequency %.6f ppm freq %lld tick %lld status 0x%x offset %lld state %d\n", clock->name().c_str(),
                dsc::rate_ppm({r->freq_scaled, r->tick}, hz), static_cast<long long>(r->freq_scaled),
                static_cast<long long>(r->tick), static_cast<unsigned>(r->status), static_cast<long long>(r->offset),
                r->state);
    return 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt;
    opt.output = default_output_format();

    enum { kStatusSocket = 256, kStatusMode };
    static const option long_options[] = {
        {"dry-run", no_argument, nullptr, 'n'},   {"clock", required_argument, nullptr, 'c'},
        {"max-step", required_argument, nullptr, 'm'}, {"output", required_argument, nullptr, 'o'},
        {"show", no_argument, nullptr, 's'},      {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},      {"version", no_argument, nullptr, 'V'},
        {"status-socket", required_argument, nullptr, kStatusSocket},
        {"status-mode", required_argument, nullptr, kStatusMode},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":nc:m:o:svhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'n': opt.dry_run = true; break;
        case 'c': opt.clock = optarg; break;
        case 'm': {
            auto d = duration_option("--max-step", optarg);
            opt.max_step = static_cast<double>(d.count()) / 1e9;
            break;
        }
        case 'o':
            if (auto f = parse_output_format(optarg)) opt.output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 's': opt.show = true; break;
        case kStatusSocket: opt.status_socket = optarg; break;
        case kStatusMode: opt.status_mode = file_mode_option("--status-mode", optarg); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("clockadj %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    if (argc - optind > 1) log::fatalx(EX_USAGE, "%s: one input only", argv[optind + 1]);
    if (optind < argc) opt.input = argv[optind];
    if (opt.show) return show(opt);

    // The input: a file or FIFO, systemd's FIFO, or standard input.
    auto input = open_record_input(opt.input);
    if (!input) log::fatalx(input.error().exit_code, "%s", input.error().what.c_str());
    const int fd = input->fd;
    const std::string& input_name = input->name;

    std::optional<AdjustableClock> clock;
    if (!opt.dry_run) {
        if (opt.clock.empty()) {
            clock = AdjustableClock::realtime();
        } else {
            auto ptp = AdjustableClock::open_ptp(opt.clock, true);
            if (!ptp) log::fatalx(ptp.error().exit_code, "%s: %s", opt.clock.c_str(), ptp.error().what.c_str());
            clock = std::move(*ptp);
        }
    }
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());

    // --status-socket: what was applied last and the counters, for timepipe-status(1).
    std::optional<observe::SnapshotStore> status;
    std::optional<StatusSocket> status_socket;
    if (!opt.status_socket.empty()) {
        const ProcessIdentity self = this_process();
        status.emplace(ToolStatus{"clockadj", 0, self.pid, self.started, TIMEPIPE_VERSION, opt.status_socket});
        auto s = StatusSocket::open(opt.status_socket, static_cast<mode_t>(opt.status_mode), [&] { return status->encode(wall_clock_now()); });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }

    Writer w(opt.output, status ? &*status : nullptr);
    Applier app(opt, std::move(clock), w);
    app.start();

    StreamDecoder dec;
    std::vector<std::byte> buf(64 * 1024);
    std::uint64_t index = 0;
    bool eof = false;
    while (!eof && !stop_requested()) {
        int timeout = app.run_timers();
        w.counters(app.counters());
        auto read = read_within(fd, buf, timeout);
        if (!read) log::fatalx(read.error().exit_code, "%s: %s", input_name.c_str(), read.error().what.c_str());
        if (!*read) continue;
        const std::size_t got = **read;
        if (got == 0) {
            eof = true;
            dec.finish();
        } else {
            dec.feed(std::span<const std::byte>(buf.data(), got));
        }
        for (;;) {
            auto r = dec.next();
            if (!r) {
                app.finish();
                log::fatalx(r.error().exit_code, "%s: %s", input_name.c_str(),
                            escape_controls(r.error().what).c_str());
            }
            if (!*r) break;
            app.on_record(**r, ++index, input_name.c_str());
        }
    }
    app.finish();
    if (app.refused() > 0)
        log::fatalx(EX_DATAERR, "%s: %llu of %llu records refused", input_name.c_str(),
                    static_cast<unsigned long long>(app.refused()), static_cast<unsigned long long>(index));
    return 0;
}
