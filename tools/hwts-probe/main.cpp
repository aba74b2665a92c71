// hwts-probe: what timestamping an interface offers (ETHTOOL_GET_TS_INFO), which kernel and
// hardware stamps NTP requests to a server really get, and a PTP hardware clock against the
// system clock as sample records. See man/hwts-probe.1.
#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <getopt.h>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sodium/core.h>

#include "libtime/base/cli_options.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/base/log.hpp"
#include "libtime/refclock/phc_offset.hpp"
#include "libtime/refclock/ts_info.hpp"
#include "libtime/stream/output_format.hpp"
#include "libtime/stream/record_writer.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/stream/timestamp_probe.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/ethtool.hpp"
#include "libtime/sys/phc.hpp"
#include "libtime/sys/resolve.hpp"
#include "libtime/sys/signal.hpp"
#include "tools/hwts-probe/probe.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;

namespace {

void usage(std::FILE* to) {
    std::fprintf(to,
                 "usage: %s [-hVv] [-o text|json|cbor] [-i INTERFACE] [-c COUNT] [-t TIMEOUT]\n"
                 "        [--interval D] [--hardware] [SERVER[:PORT]]\n"
                 "       %s [-hVv] [-o text|json|cbor] --phc DEVICE [-c COUNT] [--interval D]\n"
                 "        [--readings N] [--phc-offset S]\n"
                 "  -i, --interface IF   show what IF can timestamp (ETHTOOL_GET_TS_INFO)\n"
                 "  SERVER               send NTP requests and show which stamps come back\n"
                 "  -c, --count N        requests, or PHC samples (4; 0 with --phc: until stopped)\n"
                 "  -t, --timeout D      wait this long for each reply (1s)\n"
                 "  --interval D         between requests (200ms) or PHC samples (1s)\n"
                 "  --hardware           ask for the NIC's stamps too\n"
                 "  --phc DEVICE         sample records of a PTP hardware clock (/dev/ptp0)\n"
                 "  --readings N         PHC readings per sample, 1-25 (10)\n"
                 "  --phc-offset S       add S to every PHC offset (-37 for a PHC in TAI)\n"
                 "  -o, --output FORMAT  text, JSON lines or CBOR (default: text on a terminal,\n"
                 "                       CBOR otherwise)\n"
                 "  -v, --verbose        more messages on standard error\n"
                 "  -h, --help           this help\n"
                 "  -V, --version        print the version\n",
                 std::string(log::program()).c_str(), std::string(log::program()).c_str());
}

std::string joined(const std::vector<std::string>& names) {
    if (names.empty()) return "-";
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
    return out;
}

// "12.345us", "-", as the text table shows a difference.
std::string micros(const std::optional<double>& s) {
    if (!s) return "-";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3fus", *s * 1e6);
    return buf;
}

std::string capabilities_text(const TimestampCapabilities& c) {
    std::string phc = c.phc_index < 0 ? "none" : "/dev/ptp" + std::to_string(c.phc_index);
    return "interface " + c.interface + "\n" +
           "  capabilities  " + joined(c.capabilities) + "\n" +
           "  PHC           " + phc + "\n" +
           "  tx types      " + joined(c.tx_types) + "\n" +
           "  rx filters    " + joined(c.rx_filters) + "\n" +
           "  enabled       " + (c.enabled_tx_type ? "tx " + *c.enabled_tx_type + ", rx " + c.enabled_rx_filter.value_or("?") : "-") +
           "\n";
}

std::string probe_text(const TimestampProbe& p, bool first) {
    std::string out;
    if (first) {
        char head[160];
        std::snprintf(head, sizeof head, "%-4s %-20s %12s %12s %12s %12s %12s\n", "SEQ", "STAMPS", "TX_DELAY",
                      "RX_DELAY", "ROUND_TRIP", "TX_HW-SW", "RX_HW-SW");
        out += head;
    }
    std::string stamps;
    auto add = [&](bool have, const char* name) { if (have) stamps += (stamps.empty() ? "" : ",") + std::string(name); };
    add(p.software_tx.has_value(), "swtx");
    add(p.hardware_tx.has_value(), "hwtx");
    add(p.software_rx.has_value(), "swrx");
    add(p.hardware_rx.has_value(), "hwrx");
    if (!p.user_rx) stamps += stamps.empty() ? "no-reply" : ",no-reply";
    if (stamps.empty()) stamps = "-";
    char line[200];
    std::snprintf(line, sizeof line, "%-4" PRId64 " %-20s %12s %12s %12s %12s %12s\n", p.seq, stamps.c_str(),
                  micros(p.tx_delay).c_str(), micros(p.rx_delay).c_str(), micros(p.round_trip).c_str(),
                  micros(p.tx_hw_minus_sw).c_str(), micros(p.rx_hw_minus_sw).c_str());
    return out + line;
}

void show_interface(RecordWriter& w, const std::string& name) {
    auto raw = sys::read_ts_info(name);
    if (!raw) {
        w.flush();
        log::fatalx(raw.error().exit_code, "%s: %s", name.c_str(), raw.error().what.c_str());
    }
    auto info = refclock::decode_ts_info(*raw);
    if (!info) log::fatalx(EX_SOFTWARE, "%s: %s", name.c_str(), info.error().what.c_str());
    TimestampCapabilities c;
    c.source = "if://" + name;
    c.time = SystemClock().now();
    c.interface = name;
    c.capabilities = refclock::timestamping_names(info->so_timestamping);
    c.phc_index = info->phc_index;
    c.tx_types = refclock::tx_type_names(info->tx_types);
    c.rx_filters = refclock::rx_filter_names(info->rx_filters);
    // What is enabled now; a driver without hardware stamps does not say (EX_UNAVAILABLE).
    if (auto raw_config = sys::read_hwtstamp_config(name)) {
        auto config = refclock::decode_hwtstamp_config(*raw_config);
        if (!config) log::fatalx(EX_SOFTWARE, "%s: %s", name.c_str(), config.error().what.c_str());
        c.enabled_tx_type = refclock::tx_type_name(config->tx_type);
        c.enabled_rx_filter = refclock::rx_filter_name(config->rx_filter);
    } else if (raw_config.error().exit_code != EX_UNAVAILABLE) {
        log::warnx("%s: %s", name.c_str(), raw_config.error().what.c_str());
    } else {
        log::debug("%s: %s", name.c_str(), raw_config.error().what.c_str());
    }
    w.write(to_record(c), capabilities_text(c));
    w.flush();
}

// Sleeps `d`, in slices, so SIGINT or SIGTERM end a long --interval at once (sleep_for itself
// resumes after a signal).
void pause_for(std::chrono::nanoseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (!stop_requested()) {
        auto left = until - std::chrono::steady_clock::now();
        if (left <= std::chrono::nanoseconds::zero()) return;
        std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(left, std::chrono::milliseconds(100)));
    }
}

// "/dev/ptp0" -> "phc://ptp0"
std::string phc_source(const std::string& path) {
    auto slash = path.rfind('/');
    return "phc://" + (slash == std::string::npos ? path : path.substr(slash + 1));
}

int run_phc(RecordWriter& w, const std::string& path, int count, std::chrono::nanoseconds interval, int readings,
            std::chrono::nanoseconds correction) {
    // The poll field says how often samples come: log2 of the interval, as chrony's poll.
    const int poll = interval.count() <= 0
                         ? -30
                         : std::clamp(static_cast<int>(std::floor(std::log2(nanos_to_seconds(interval.count())))), -30, 30);
    auto dev = sys::PhcDevice::open(path);
    if (!dev) log::fatalx(dev.error().exit_code, "%s: %s", path.c_str(), dev.error().what.c_str());
    refclock::PhcQuery query = [&](refclock::PhcMethod how, int n) {
        switch (how) {
        case refclock::PhcMethod::precise: return dev->sys_offset_precise();
        case refclock::PhcMethod::extended: return dev->sys_offset_extended(n);
        case refclock::PhcMethod::basic: break;
        }
        return dev->sys_offset(n);
    };
    std::optional<refclock::PhcMethod> said;
    for (int i = 0; (count == 0 || i < count) && !stop_requested(); ++i) {
        if (i > 0) pause_for(interval);
        if (stop_requested()) break;
        auto m = refclock::measure_phc(query, readings);
        if (!m) {
            w.flush();
            log::fatalx(m.error().exit_code, "%s: %s", path.c_str(), m.error().what.c_str());
        }
        if (said != m->method) {
            said = m->method;
            log::info("%s: PTP_SYS_OFFSET %s, %d readings", path.c_str(), std::string(to_string(m->method)).c_str(),
                      m->readings);
        }
        w.write(to_record(refclock::phc_sample(*m, phc_source(path), correction.count(), poll)), SystemClock().now());
        w.flush();
    }
    return 0;
}

enum { kInterval = 256, kHardware, kPhc, kReadings, kPhcOffset };

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    OutputFormat output = default_output_format();
    hwts::ProbeOptions probe;
    std::optional<int> count;
    std::optional<std::chrono::nanoseconds> interval;
    std::optional<std::string> phc;
    int readings = 10;
    std::chrono::nanoseconds phc_offset{0};

    static const option long_options[] = {
        {"output", required_argument, nullptr, 'o'},
        {"interface", required_argument, nullptr, 'i'},
        {"count", required_argument, nullptr, 'c'},
        {"timeout", required_argument, nullptr, 't'},
        {"interval", required_argument, nullptr, kInterval},
        {"hardware", no_argument, nullptr, kHardware},
        {"phc", required_argument, nullptr, kPhc},
        {"readings", required_argument, nullptr, kReadings},
        {"phc-offset", required_argument, nullptr, kPhcOffset},
        {"verbose", no_argument, nullptr, 'v'},
        {"help", no_argument, nullptr, 'h'},
        {"version", no_argument, nullptr, 'V'},
        {nullptr, 0, nullptr, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:i:c:t:vhV", long_options, nullptr)) != -1) {
        switch (c) {
        case 'o':
            if (auto f = parse_output_format(optarg)) output = *f;
            else log::fatalx(EX_USAGE, "%s", f.error().what.c_str());
            break;
        case 'i': probe.interface = optarg; break;
        case 'c': count = static_cast<int>(int_option("-c", optarg, 0, 1000000)); break;
        case 't': probe.timeout = duration_option("-t", optarg); break;
        case kInterval: interval = duration_or_zero_option("--interval", optarg); break;
        case kHardware: probe.hardware = true; break;
        case kPhc: phc = optarg; break;
        case kPhcOffset: phc_offset = signed_duration_option("--phc-offset", optarg); break;
        case kReadings: readings = static_cast<int>(int_option("--readings", optarg, 1, refclock::kPtpMaxSamples)); break;
        case 'v': log::set_verbosity(log::verbosity() + 1); break;
        case 'h': usage(stdout); return 0;
        case 'V': std::printf("hwts-probe %s\n", TIMEPIPE_VERSION); return 0;
        default: getopt_failure(c, argv);
        }
    }
    const char* server = optind < argc ? argv[optind++] : nullptr;
    if (optind < argc) log::fatalx(EX_USAGE, "%s: unexpected argument (see -h)", argv[optind]);
    if (phc && (server || probe.interface || probe.hardware))
        log::fatalx(EX_USAGE, "--phc: not with a server, -i or --hardware");
    if (!phc && phc_offset.count() != 0) log::fatalx(EX_USAGE, "--phc-offset: only with --phc");
    if (!phc && !server && !probe.interface) log::fatalx(EX_USAGE, "nothing to do: give a SERVER, -i or --phc (see -h)");
    if (auto ok = catch_stop_signals(); !ok) log::fatalx(ok.error().exit_code, "%s", ok.error().what.c_str());
    RecordWriter w(output);

    if (phc)
        return run_phc(w, *phc, count.value_or(4), interval.value_or(std::chrono::seconds(1)), readings, phc_offset);
    if (count && *count == 0) log::fatalx(EX_USAGE, "-c: 0 is only for --phc");

    if (probe.interface) show_interface(w, *probe.interface);
    if (!server) return 0;

    if (sodium_init() < 0) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");
    auto hp = parse_host_port(server);
    if (!hp) log::fatalx(hp.error().exit_code, "%s: %s", server, hp.error().what.c_str());
    auto addrs = resolve(*hp, 123, Family::any, std::chrono::seconds(5));
    if (!addrs) log::fatalx(addrs.error().exit_code, "%s: %s", server, addrs.error().what.c_str());
    probe.server = addrs->front();
    probe.source = "ntp://" + to_string(HostPort{hp->host, probe.server.port()});
    probe.count = count.value_or(4);
    if (interval) probe.interval = *interval;

    auto prober = hwts::Prober::open(probe);
    if (!prober) log::fatalx(prober.error().exit_code, "%s: %s", server, prober.error().what.c_str());
    if (probe.hardware && !prober->hardware_granted()) log::warnx("--hardware: the socket refused hardware stamps");
    int answered = 0;
    for (int i = 0; i < probe.count && !stop_requested(); ++i) {
        if (i > 0) pause_for(probe.interval);
        if (stop_requested()) break;
        auto p = prober->probe(i);
        if (!p) {
            w.flush();
            log::fatalx(p.error().exit_code, "%s: %s", server, p.error().what.c_str());
        }
        answered += p->user_rx ? 1 : 0;
        w.write(to_record(*p), probe_text(*p, i == 0));
        w.flush();
    }
    if (answered == 0 && !stop_requested()) log::fatalx(EX_UNAVAILABLE, "%s: no answer to %d requests", server, probe.count);
    return 0;
}
