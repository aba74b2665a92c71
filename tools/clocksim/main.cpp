// clocksim: a closed-loop clock and network simulator. Runs a discipline command as a child,
// feeds it the samples a simulated network gives, applies the adjust records it answers to a
// simulated clock, and prints how well the clock was kept. See man/clocksim.1.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <getopt.h>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/log.hpp"
#include "libtime/sim/scenario.hpp"
#include "libtime/sim/simulator.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/child_process.hpp"
#include "libtime/sys/file.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-o text|json] [--scenario FILE] [--discipline \"CMD ARGS\"]\n"
                 "       [--record FILE] [--timeout DURATION] [--KEY VALUE ...]\n"
                 "  -s, --scenario FILE      the scenario (key value lines); options override it\n"
                 "  -d, --discipline CMD     the discipline to run (default: discipline beside\n"
                 "                           clocksim, else on PATH)\n"
                 "  -r, --record FILE        write the samples given to the discipline (CBOR)\n"
                 "  -t, --timeout DURATION   longest wait for one answer (default 30s)\n"
                 "  -o, --output FORMAT      text (default) or json: the figures\n"
                 "  -v, --verbose            more messages on standard error\n"
                 "  -h, --help               this help\n"
                 "  -V, --version            print the version\n"
                 "scenario keys, each also an option (--offset 0.01; two values as --outage 1000,4600):\n"
                 "  seed duration offset freq wander delay-up-base delay-up-mean delay-down-base\n"
                 "  delay-down-mean servers minpoll maxpoll iburst server-offset outage server-step\n"
                 "  collude roughtime roughtime-radius roughtime-interval roughtime-offset\n",
                 std::string(log::program()).c_str());
}

std::vector<std::string> split(std::string_view s, std::string_view seps) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && seps.find(s[i]) != std::string_view::npos) ++i;
        std::size_t j = i;
        while (j < s.size() && seps.find(s[j]) == std::string_view::npos) ++j;
        if (j > i) out.emplace_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::string> command_argv(const std::string& cmd) {
    if (cmd.find_first_of("'\"$|;&<>`\\*?(){}") != std::string::npos) return {"/bin/sh", "-c", cmd};
    return split(cmd, " \t");
}

std::string default_discipline(const char* argv0) {
    std::string self(argv0);
    if (auto slash = self.rfind('/'); slash != std::string::npos) {
        std::string beside = self.substr(0, slash + 1) + "discipline";
        if (is_executable(beside)) return beside;
    }
    return "discipline";
}

std::string fmt(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\', out += c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else out += c;
    }
    return out + "\"";
}

std::string human(double s) {
    char buf[64];
    double a = s < 0 ? -s : s;
    if (a < 1e-3) std::snprintf(buf, sizeof buf, "%.1f us", s * 1e6);
    else if (a < 1) std::snprintf(buf, sizeof buf, "%.3f ms", s * 1e3);
    else std::snprintf(buf, sizeof buf, "%.3f s", s);
    return buf;
}

// The discipline child, answered in lock step.
class Discipline {
public:
    Discipline(ChildProcess child, std::chrono::milliseconds timeout, std::FILE* record)
        : child_(std::move(child)), timeout_(timeout), record_(record) {}

    Result<Adjust> answer(const Sample& s) {
        std::vector<std::byte> bytes;
        if (auto ok = encode_record(to_record(s), bytes); !ok) return Unexpected<Error>{ok.error()};
        if (record_ && std::fwrite(bytes.data(), 1, bytes.size(), record_) != bytes.size())
            return fail("--record: write failed", EX_IOERR);
        if (auto ok = child_.write_all(bytes); !ok) return dead("does not read its input");
        for (;;) {
            auto r = dec_.next();
            if (!r) return fail("discipline: " + r.error().what, EX_DATAERR);
            if (*r) {
                const Record& rec = **r;
                auto type = record_type(rec);
                if (type == Adjust::kType) {
                    auto a = from_record<Adjust>(rec);
                    if (!a) return fail("discipline: " + a.error().what, EX_DATAERR);
                    return *a;
                }
                if (type == Tracking::kType) {
                    auto t = from_record<Tracking>(rec);
                    if (!t) return fail("discipline: " + t.error().what, EX_DATAERR);
                    if (t->synchronised) ++selected[t->source];
                } else if (type == Refusal::kType) {
                    auto f = from_record<Refusal>(rec);
                    if (!f) return fail("discipline: " + f.error().what, EX_DATAERR);
                    ++refusals;
                    if (last_refusal.empty()) last_refusal = f->reason;
                }
                continue;
            }
            std::byte buf[65536];
            auto n = child_.read_some(buf, timeout_);
            if (!n) return fail("discipline: " + n.error().what, n.error().exit_code);
            if (*n == 0) return dead("ended its output");
            dec_.feed(std::span<const std::byte>(buf, *n));
        }
    }

    void finish() { child_.close_input(); }
    std::string status() { return child_.wait_or_kill(std::chrono::seconds(5)); }

    std::map<std::string, std::uint64_t> selected;  // synchronised tracking records per source
    std::uint64_t refusals = 0;
    std::string last_refusal;

private:
    Unexpected<Error> dead(const char* what) {
        child_.close_input();
        return fail(std::string("discipline ") + what + " (" + child_.wait_or_kill(std::chrono::seconds(2)) + ")",
                    EX_UNAVAILABLE);
    }

    ChildProcess child_;
    std::chrono::milliseconds timeout_;
    std::FILE* record_;
    StreamDecoder dec_;
};

std::string opt_json(const std::optional<double>& v) { return v ? fmt(*v) : "null"; }

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    std::signal(SIGPIPE, SIG_IGN);
    std::string scenario_path, discipline_cmd, record_path;
    auto timeout = std::chrono::milliseconds(30000);
    OutputFormat output = OutputFormat::text;
    std::vector<std::pair<std::string, std::string>> overrides;

    std::vector<option> long_options = {
        {"scenario", required_argument, nullptr, 's'},
        {"discipline", required_argument, nullptr, 'd'},
        {"record", required_argument, nullptr, 'r'},
        {"timeout", required_argument, nullptr, 't'},
        {"output", required_argument, nullptr, 'o'},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
    };
    const auto& keys = sim::scenario_keys();
    std::vector<std::string> key_names(keys.begin(), keys.end());
    for (std::size_t i = 0; i < key_names.size(); ++i)
        long_options.push_back({key_names[i].c_str(), required_argument, nullptr, 1000 + static_cast<int>(i)});
    long_options.push_back({nullptr, 0, nullptr, 0});

    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":s:d:r:t:o:vhV", long_options.data(), nullptr)) != -1) {
        switch (c) {
        case 's': scenario_path = optarg; break;
        case 'd': discipline_cmd = optarg; break;
        case 'r': record_path = optarg; break;
        case 't':
            timeout = std::chrono::duration_cast<std::chrono::milliseconds>(duration_option("--timeout", optarg));
            if (timeout.count() < 1) timeout = std::chrono::milliseconds(1);
            if (timeout.count() > 86400000) log::fatalx(EX_USAGE, "--timeout: %s is longer than a day", optarg);
            break;
        case 'o':
            if (auto f = parse_output_format(optarg); f && *f != OutputFormat::cbor) output = *f;
            else log::fatalx(EX_USAGE, "-o: unknown output format \"%s\" (text or json)", optarg);
            break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("clocksim %s\n", TIMEPIPE_VERSION); return 0;
        default:
            if (c >= 1000 && c < 1000 + static_cast<int>(key_names.size())) {
                overrides.emplace_back(key_names[static_cast<std::size_t>(c - 1000)], optarg);
                break;
            }
            getopt_failure(c, argv);
        }
    }
    if (optind != argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);

    sim::Scenario sc;
    if (!scenario_path.empty()) {
        auto text = read_file(scenario_path.c_str(), 1 << 20);
        if (!text) log::fatalx(text.error().exit_code, "%s: %s", scenario_path.c_str(), text.error().what.c_str());
        auto parsed = sim::parse_scenario(*text);
        if (!parsed) log::fatalx(parsed.error().exit_code, "%s: %s", scenario_path.c_str(), parsed.error().what.c_str());
        sc = *parsed;
    }
    for (auto& [key, value] : overrides)
        if (auto ok = sim::set_scenario_key(sc, key, split(value, ", ")); !ok)
            log::fatalx(EX_USAGE, "--%s: %s", key.c_str(), ok.error().what.c_str());
    if (auto ok = sim::check_scenario(sc); !ok) log::fatalx(EX_USAGE, "scenario: %s", ok.error().what.c_str());

    std::FILE* record = nullptr;
    if (!record_path.empty()) {
        record = std::fopen(record_path.c_str(), "wb");
        if (!record) log::fatal(EX_CANTCREAT, "%s", record_path.c_str());
    }
    if (discipline_cmd.empty()) discipline_cmd = default_discipline(argv[0]);
    auto argv_child = command_argv(discipline_cmd);
    if (argv_child.empty()) log::fatalx(EX_USAGE, "--discipline: empty command");
    auto child = ChildProcess::spawn(argv_child);
    if (!child) log::fatalx(child.error().exit_code, "%s: %s", argv_child[0].c_str(), child.error().what.c_str());
    log::info("running %s", discipline_cmd.c_str());

    std::optional<Discipline> owned;
    owned.emplace(std::move(*child), timeout, record);
    Discipline& disc = *owned;
    sim::Simulator simulator(sc);
    auto figures = simulator.run([&](const Sample& s) { return disc.answer(s); });
    if (record && std::fclose(record) != 0) log::fatal(EX_IOERR, "%s", record_path.c_str());
    if (!figures) {
        owned.reset();  // the child ended (SIGTERM if still running) before we exit: never left behind
        log::fatalx(figures.error().exit_code, "%s", figures.error().what.c_str());
    }
    disc.finish();
    log::info("discipline %s", disc.status().c_str());  // it ends at the end of its input
    const auto& f = *figures;

    if (output == OutputFormat::json) {
        std::string o = "{\"late_rms\":" + fmt(f.late_rms) + ",\"late_max\":" + fmt(f.late_max) +
                        ",\"late_p99\":" + fmt(f.late_p99) + ",\"settled_1ms\":" + opt_json(f.settled_1ms) +
                        ",\"settled_100us\":" + opt_json(f.settled_100us) + ",\"freq_rms\":" + fmt(f.freq_rms) +
                        ",\"max_offset\":" + fmt(f.max_offset) + ",\"requests\":" + std::to_string(f.requests) +
                        ",\"samples\":" + std::to_string(f.samples) + ",\"adjusts\":" + std::to_string(f.adjusts) +
                        ",\"steps\":" + std::to_string(f.steps) + ",\"refusals\":" + std::to_string(disc.refusals) +
                        ",\"outage_end_offset\":" + opt_json(f.outage_end_offset) +
                        ",\"after_outage_max\":" + opt_json(f.after_outage_max) + ",\"selected\":{";
        bool first = true;
        for (auto& [src, n] : disc.selected) {
            o += (first ? "" : ",") + json_string(src) + ":" + std::to_string(n);
            first = false;
        }
        o += "}}\n";
        std::fputs(o.c_str(), stdout);
    } else {
        auto settled = [](const std::optional<double>& v) {
            return v ? fmt(*v) + " s" : std::string("never");
        };
        std::printf("simulated %s s, seed %llu, %d server%s, discipline %s\n", fmt(sc.duration).c_str(),
                    static_cast<unsigned long long>(sc.seed), sc.servers, sc.servers == 1 ? "" : "s",
                    discipline_cmd.c_str());
        std::printf("offset, second half:  RMS %s, max %s, 99th percentile %s\n", human(f.late_rms).c_str(),
                    human(f.late_max).c_str(), human(f.late_p99).c_str());
        std::printf("settled below 1 ms:   %s\n", settled(f.settled_1ms).c_str());
        std::printf("settled below 100 us: %s\n", settled(f.settled_100us).c_str());
        std::printf("frequency error RMS:  %.3f ppm\n", f.freq_rms);
        std::printf("largest offset:       %s\n", human(f.max_offset).c_str());
        std::printf("requests %llu, samples %llu, steps %llu, refusals %llu\n",
                    static_cast<unsigned long long>(f.requests), static_cast<unsigned long long>(f.samples),
                    static_cast<unsigned long long>(f.steps), static_cast<unsigned long long>(disc.refusals));
        if (f.outage_end_offset)
            std::printf("after the outage:     %s at its end, %s at most\n", human(*f.outage_end_offset).c_str(),
                        human(*f.after_outage_max).c_str());
        if (!disc.last_refusal.empty()) std::printf("refused: %s\n", disc.last_refusal.c_str());
        bool kept = f.settled_1ms.has_value();
        std::printf("verdict: %s\n", kept ? "the clock was kept within 1 ms" : "the clock was NOT kept within 1 ms");
    }
    if (std::fflush(stdout) != 0) log::fatal(EX_IOERR, "stdout");
    return 0;
}
