#include "libtime/observe/status_view.hpp"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <ctime>
#include <functional>

#include "libtime/stream/sample_table.hpp"

namespace timepipe::observe {

namespace {

bool is_source_name(std::string_view s) { return s.find("://") != std::string_view::npos; }

UnixNanos record_time(const Record& r) {
    auto t = r.find("time");
    return t != r.end() && t->is_number_integer() ? t->get<std::int64_t>() : 0;
}

// `r` without "v" and "type": the object the JSON shows for a record.
Record body(const Record& r) {
    Record out = Record::object();
    for (const auto& item : r.items())
        if (item.key() != "v" && item.key() != "type") out[item.key()] = item.value();
    return out;
}

std::uint64_t get(const Counters& c, const char* key) {
    auto it = c.find(key);
    return it == c.end() ? 0 : it->second;
}

// Saturating: counters of a hostile snapshot could wrap a sum.
std::uint64_t add(std::uint64_t a, std::uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

[[gnu::format(printf, 1, 2)]] std::string printf_string(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

std::string utc(UnixNanos t) {
    std::time_t secs = static_cast<std::time_t>(t / kNanosPerSecond - (t % kNanosPerSecond < 0 ? 1 : 0));
    std::tm tm{};
    if (!gmtime_r(&secs, &tm)) return std::to_string(t);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

}  // namespace

NtpServerSummary summarise_ntp_server(const Counters& c) {
    NtpServerSummary s;
    s.requests = get(c, "received");
    s.answered = get(c, "answered");
    s.kod = add(add(get(c, "kod_rate"), get(c, "kod_deny")), get(c, "kod_rstr"));
    s.rate_limited = add(get(c, "kod_rate"), get(c, "dropped_rate"));
    s.nts = get(c, "nts");
    s.nts_nak = get(c, "nts_nak");
    for (const auto& [k, v] : c)
        if (k.rfind("dropped_", 0) == 0) s.dropped = add(s.dropped, v);
    return s;
}

StatusView build_status_view(std::span<const Snapshot> snapshots, std::vector<Unreachable> unreachable,
                             UnixNanos now) {
    StatusView v;
    v.now = now;
    v.unreachable = std::move(unreachable);
    std::map<std::string, SourceView> sources;
    auto source = [&](const std::string& name) -> SourceView& {
        auto& s = sources[name];
        s.name = name;
        return s;
    };
    for (const auto& snap : snapshots) {
        const std::string& tool = snap.tool.source;
        v.tools.push_back({snap.endpoint, snap.tool});
        for (const auto& r : snap.records) {
            const auto type = record_type(r);
            const UnixNanos t = record_time(r);
            if (type == Sample::kType) {
                auto s = from_record<Sample>(r);
                if (!s) continue;   // a record the tool should not have sent: not shown
                auto& sv = source(s->source);
                if (!sv.sample || s->time > sv.sample->time) {
                    sv.sample = *s;
                    sv.sample_record = r;
                    sv.sample_tool = tool;
                }
            } else if (type == SourceState::kType) {
                auto s = from_record<SourceState>(r);
                if (!s) continue;
                auto& sv = source(s->source);
                if (!sv.state || s->time > sv.state->time) sv.state = *s;
            } else if (type == Tracking::kType) {
                auto tr = from_record<Tracking>(r);
                if (tr && (!v.tracking || tr->time > v.tracking->time)) {
                    v.tracking = *tr;
                    v.tracking_tool = tool;
                }
            } else if (type == Refusal::kType) {
                auto rf = from_record<Refusal>(r);
                if (rf && (!v.refusal || rf->time > v.refusal->time)) {
                    v.refusal = *rf;
                    v.refusal_tool = tool;
                }
            } else if (type == Stats::kType) {
                auto st = from_record<Stats>(r);
                if (!st) continue;
                if (is_source_name(st->source)) {
                    auto& sv = source(st->source);
                    sv.counters = st->counters;
                    sv.counters_tool = tool;
                    continue;
                }
                CounterView cv{tool, snap.endpoint, st->source, t, st->counters};
                if (tool == "ntp-serve") v.servers.push_back(std::move(cv));
                else if (tool == "roughtime-serve") v.roughtime.push_back(std::move(cv));
                else if (tool == "nts-ke") v.nts_ke.push_back(std::move(cv));
                else v.stats.push_back(std::move(cv));
            } else {
                v.records.emplace_back(tool, r);
            }
        }
    }
    for (auto& [name, sv] : sources) v.sources.push_back(std::move(sv));
    return v;
}

std::optional<Section> parse_section(std::string_view word) {
    if (word == "all") return Section::all;
    if (word == "sources") return Section::sources;
    if (word == "tracking") return Section::tracking;
    if (word == "servers") return Section::servers;
    if (word == "tools") return Section::tools;
    return std::nullopt;
}

namespace {

// `head` then the items, a space apart, in lines of at most kTableWidth (an item longer than a
// line gets one of its own), continuation lines indented.
std::string wrap_items(std::string head, const std::vector<std::string>& items) {
    std::string out;
    std::string line = std::move(head);
    bool has_item = false;
    for (const auto& item : items) {
        if (has_item && line.size() + 1 + item.size() > kTableWidth) {
            out += line + "\n";
            line = "     ";
        }
        line += " " + item;
        has_item = true;
    }
    return out + line + "\n";
}

constexpr const char* kLegend =
    "  .-- Selection mark (discipline): * system peer, + combined with it,\n"
    " /    - not combined, x falseticker, ~ too variable, ? unusable\n"
    "|          .- remote: the source (ntp://HOST:PORT as its tool names it)\n"
    "|         /          .- refid: its reference ID; st: its stratum\n"
    "|        |          |   .- when: age of the newest sample; poll: log2 s\n"
    "|        |          |  |     .- reach: the last 8 polls, octal\n"
    "|        |          |  |    |   .- delay, offset, +/- (error bound) and\n"
    "|        |          |  |    |  |     jitter of the newest sample\n";

void text_sources(const StatusView& v, bool verbose, std::string& out) {
    out += "Sources (" + std::to_string(v.sources.size()) + ")\n";
    if (verbose && !v.sources.empty()) out += kLegend;
    bool ntp_header = false, roughtime_header = false;
    std::string notes;
    for (const auto& sv : v.sources) {
        const char mark = sv.state && sv.state->state.size() == 1 ? sv.state->state[0] : ' ';
        const bool roughtime = sv.name.rfind("roughtime://", 0) == 0;
        if (sv.sample && roughtime) {
            if (!roughtime_header) out += roughtime_table_header();
            roughtime_header = true;
            out += roughtime_table_row(*sv.sample, sv.sample_record, v.now);
        } else if (sv.sample) {
            if (!ntp_header) out += sample_table_header();
            ntp_header = true;
            out += sample_table_row(*sv.sample, v.now, mark);
        } else {
            out += std::string(1, mark) + escape_text(sv.name) + "  (no sample)\n";
        }
        if (!verbose) continue;
        std::vector<std::string> items;
        if (sv.state && sv.state->reason) items.push_back(sv.state->state + " " + escape_text(*sv.state->reason));
        for (const auto& [k, n] : sv.counters) items.push_back(escape_text(k) + " " + std::to_string(n));
        if (!items.empty()) out += wrap_items("    " + escape_text(sv.name) + ":", items);
    }
    if (v.sources.empty()) out += "  none\n";
}

std::string signed_with(double s, const char* positive, const char* negative) {
    return format_duration(std::fabs(s)) + " " + (s >= 0 ? positive : negative);
}

void text_tracking(const StatusView& v, bool verbose, std::string& out) {
    out += "Tracking\n";
    if (!v.tracking) {
        out += "  no tracking record (is discipline running with --status-socket?)\n";
    } else {
        const Tracking& t = *v.tracking;
        auto row = [&](const char* key, const std::string& value) {
            out += printf_string("%-16s: ", key) + value + "\n";
        };
        row("Reference", escape_text(t.source) + (t.refid.empty() ? "" : " (" + escape_text(t.refid) + ")"));
        row("Stratum", std::to_string(t.stratum));
        row("Ref time (UTC)", utc(t.time) + ", " + format_duration(nanos_to_seconds(v.now - t.time)) + " ago");
        // offset: reference minus local, still to correct; positive: this clock is behind.
        row("System time", signed_with(t.offset, "slow of NTP time", "fast of NTP time"));
        if (t.rms_offset) row("RMS offset", format_duration(*t.rms_offset));
        // frequency: the correction applied; positive: the clock runs slow without it.
        row("Frequency", printf_string("%.3f ppm %s", std::fabs(t.frequency), t.frequency >= 0 ? "slow" : "fast"));
        row("Skew", printf_string("%.3f ppm", t.skew));
        row("Root delay", format_duration(t.root_delay));
        row("Root dispersion", format_duration(t.root_dispersion));
        if (t.poll) row("Update interval", printf_string("2^%d s", *t.poll));
        static const char* const kLeap[] = {"Normal", "Insert second", "Delete second", "Not synchronised"};
        row("Leap status", kLeap[std::clamp(t.leap, 0, 3)]);
        row("Synchronised", t.synchronised ? "yes" : "no");
        if (t.sources) row("Sources", std::to_string(*t.sources) + " selected");
        if (verbose) row("From", escape_text(v.tracking_tool));
    }
    if (v.refusal) {
        const Refusal& r = *v.refusal;
        out += printf_string("%-16s: ", "Last refusal") + escape_text(r.reason) + "\n" +
               printf_string("%-16s  ", "") + escape_text(r.source) + ", " + utc(r.time) + " UTC\n";
    }
}

std::string num(std::uint64_t n) { return std::to_string(n); }

void text_counter_table(const char* title, const std::vector<std::string>& heads,
                        const std::vector<CounterView>& rows,
                        const std::function<std::vector<std::uint64_t>(const Counters&)>& cells, bool verbose,
                        std::string& out) {
    // 13 for the tool, then 9 per column: 7 columns fit 79 (counters past 99999999 push right).
    std::string head = printf_string("%-13s", title);
    for (const auto& h : heads) head += printf_string(" %8s", h.c_str());
    out += head + "\n";
    for (const auto& r : rows) {
        std::string line = printf_string("%-13s", escape_text(r.tool).substr(0, 13).c_str());
        for (auto n : cells(r.counters)) line += printf_string(" %8s", num(n).c_str());
        out += line + "\n";
        if (verbose) {
            out += "    " + escape_text(r.endpoint) + "\n";
            std::vector<std::string> items;
            for (const auto& [k, n] : r.counters) items.push_back(escape_text(k) + " " + num(n));
            if (!items.empty()) out += wrap_items("   ", items);
        }
    }
}

void text_servers(const StatusView& v, bool verbose, std::string& out) {
    if (v.servers.empty() && v.roughtime.empty() && v.nts_ke.empty() && v.stats.empty()) {
        out += "Servers\n  none\n";
        return;
    }
    bool first = true;
    auto gap = [&] {
        if (!first) out += "\n";
        first = false;
    };
    if (!v.servers.empty()) {
        gap();
        text_counter_table("NTP server", {"requests", "answered", "KoD", "rate-lim", "NTS", "NTS-NAK", "dropped"},
                           v.servers,
                           [](const Counters& c) {
                               auto s = summarise_ntp_server(c);
                               return std::vector<std::uint64_t>{s.requests, s.answered, s.kod, s.rate_limited,
                                                                 s.nts, s.nts_nak, s.dropped};
                           },
                           verbose, out);
    }
    if (!v.roughtime.empty()) {
        gap();
        text_counter_table("Roughtime", {"requests", "answered", "batches", "signed", "refused"}, v.roughtime,
                           [](const Counters& c) {
                               std::uint64_t refused = get(c, "tcp_refused");
                               for (const auto& [k, n] : c)
                                   if (k.rfind("dropped_", 0) == 0) refused = add(refused, n);
                               return std::vector<std::uint64_t>{get(c, "received"), get(c, "answered"),
                                                                 get(c, "batches"), get(c, "signatures"), refused};
                           },
                           verbose, out);
    }
    if (!v.nts_ke.empty()) {
        gap();
        text_counter_table("NTS-KE", {"connects", "handshks", "failures", "cookies", "rotated"}, v.nts_ke,
                           [](const Counters& c) {
                               return std::vector<std::uint64_t>{
                                   get(c, "connections"), get(c, "handshakes"),
                                   add(add(get(c, "tls_failures"), get(c, "errors_sent")), get(c, "timeouts")),
                                   get(c, "cookies"), get(c, "key_rotations")};
                           },
                           verbose, out);
    }
    for (const auto& s : v.stats) {
        gap();
        std::vector<std::string> items;
        for (const auto& [k, n] : s.counters) items.push_back(escape_text(k) + " " + num(n));
        out += wrap_items(escape_text(s.tool) + " (" + escape_text(s.source) + "):", items);
    }
}

void text_tools(const StatusView& v, bool verbose, std::string& out) {
    out += printf_string("%-16s %8s %8s  %s\n", "Tool", "pid", "uptime", verbose ? "version  socket" : "version");
    for (const auto& t : v.tools) {
        const double up = nanos_to_seconds(t.status.time - t.status.started);
        out += printf_string("%-16s %8" PRId64 " %8s  ", escape_text(t.status.source).substr(0, 16).c_str(),
                             t.status.pid, format_duration(std::max(0.0, up)).c_str());
        if (verbose) {
            const std::string version = printf_string("%-8s ", escape_text(t.status.version).substr(0, 8).c_str());
            const std::string socket = escape_text(t.endpoint);
            // 37 columns before the version: a long path goes on a line of its own.
            out += 37 + version.size() + socket.size() <= kTableWidth ? version + socket : version + "\n    " + socket;
        } else {
            out += escape_text(t.status.version);
        }
        out += "\n";
    }
    if (v.tools.empty()) out += "  none answered\n";
}

}  // namespace

std::string render_text(const StatusView& v, Section section, bool verbose) {
    std::string out;
    auto want = [&](Section s) { return section == Section::all || section == s; };
    bool first = true;
    auto part = [&](Section s, void (*fn)(const StatusView&, bool, std::string&)) {
        if (!want(s)) return;
        if (!first) out += "\n";
        first = false;
        fn(v, verbose, out);
    };
    part(Section::sources, text_sources);
    part(Section::tracking, text_tracking);
    part(Section::servers, text_servers);
    part(Section::tools, text_tools);
    return out;
}

Record to_json(const StatusView& v) {
    Record j = Record::object();
    j["version"] = 1;
    j["time"] = v.now;
    Record tools = Record::array();
    for (const auto& t : v.tools) {
        Record o = Record::object();
        o["tool"] = t.status.source;
        o["endpoint"] = t.endpoint;
        o["pid"] = t.status.pid;
        o["started"] = t.status.started;
        o["time"] = t.status.time;
        o["uptime"] = std::max(0.0, nanos_to_seconds(t.status.time - t.status.started));
        o["version"] = t.status.version;
        o["instance"] = t.status.instance ? Record(*t.status.instance) : Record(nullptr);
        tools.push_back(std::move(o));
    }
    j["tools"] = std::move(tools);
    Record sources = Record::array();
    for (const auto& sv : v.sources) {
        Record o = Record::object();
        o["source"] = sv.name;
        o["mark"] = sv.state ? Record(sv.state->state) : Record(nullptr);
        o["reason"] = sv.state && sv.state->reason ? Record(*sv.state->reason) : Record(nullptr);
        if (sv.state) {
            Record sel = Record::object();
            sel["time"] = sv.state->time;
            sel["offset"] = sv.state->offset ? Record(*sv.state->offset) : Record(nullptr);
            sel["delay"] = sv.state->delay ? Record(*sv.state->delay) : Record(nullptr);
            sel["jitter"] = sv.state->jitter ? Record(*sv.state->jitter) : Record(nullptr);
            o["selection"] = std::move(sel);
        } else {
            o["selection"] = nullptr;
        }
        o["sample"] = sv.sample ? body(sv.sample_record) : Record(nullptr);
        o["sample_tool"] = sv.sample ? Record(sv.sample_tool) : Record(nullptr);
        o["age"] = sv.sample ? Record(nanos_to_seconds(v.now - sv.sample->time)) : Record(nullptr);
        Record counters = Record::object();
        for (const auto& [k, n] : sv.counters) counters[k] = n;
        o["counters"] = std::move(counters);
        sources.push_back(std::move(o));
    }
    j["sources"] = std::move(sources);
    if (v.tracking) {
        Record t = body(to_record(*v.tracking));
        t["tool"] = v.tracking_tool;
        t["age"] = nanos_to_seconds(v.now - v.tracking->time);
        j["tracking"] = std::move(t);
    } else {
        j["tracking"] = nullptr;
    }
    if (v.refusal) {
        Record r = body(to_record(*v.refusal));
        r["tool"] = v.refusal_tool;
        j["refusal"] = std::move(r);
    } else {
        j["refusal"] = nullptr;
    }
    auto counter_object = [](const CounterView& c) {
        Record o = Record::object();
        o["tool"] = c.tool;
        o["endpoint"] = c.endpoint;
        o["source"] = c.source;
        o["time"] = c.time;
        return o;
    };
    auto all_counters = [](const Counters& c) {
        Record o = Record::object();
        for (const auto& [k, n] : c) o[k] = n;
        return o;
    };
    Record servers = Record::array();
    for (const auto& c : v.servers) {
        Record o = counter_object(c);
        auto s = summarise_ntp_server(c.counters);
        o["requests"] = s.requests;
        o["answered"] = s.answered;
        o["kod"] = s.kod;
        o["rate_limited"] = s.rate_limited;
        o["nts"] = s.nts;
        o["nts_nak"] = s.nts_nak;
        o["dropped"] = s.dropped;
        o["counters"] = all_counters(c.counters);
        servers.push_back(std::move(o));
    }
    j["servers"] = std::move(servers);
    Record roughtime = Record::array();
    for (const auto& c : v.roughtime) {
        Record o = counter_object(c);
        std::uint64_t refused = get(c.counters, "tcp_refused");
        for (const auto& [k, n] : c.counters)
            if (k.rfind("dropped_", 0) == 0) refused = add(refused, n);
        o["requests"] = get(c.counters, "received");
        o["answered"] = get(c.counters, "answered");
        o["batches"] = get(c.counters, "batches");
        o["signatures"] = get(c.counters, "signatures");
        o["refused"] = refused;
        o["counters"] = all_counters(c.counters);
        roughtime.push_back(std::move(o));
    }
    j["roughtime"] = std::move(roughtime);
    Record nts_ke = Record::array();
    for (const auto& c : v.nts_ke) {
        Record o = counter_object(c);
        o["connections"] = get(c.counters, "connections");
        o["handshakes"] = get(c.counters, "handshakes");
        o["failures"] = add(add(get(c.counters, "tls_failures"), get(c.counters, "errors_sent")),
                            get(c.counters, "timeouts"));
        o["cookies"] = get(c.counters, "cookies");
        o["key_rotations"] = get(c.counters, "key_rotations");
        o["counters"] = all_counters(c.counters);
        nts_ke.push_back(std::move(o));
    }
    j["nts_ke"] = std::move(nts_ke);
    Record stats = Record::array();
    for (const auto& c : v.stats) {
        Record o = counter_object(c);
        o["counters"] = all_counters(c.counters);
        stats.push_back(std::move(o));
    }
    j["stats"] = std::move(stats);
    Record records = Record::array();
    for (const auto& [tool, r] : v.records) {
        Record o = r;
        o["tool"] = tool;
        records.push_back(std::move(o));
    }
    j["records"] = std::move(records);
    Record unreachable = Record::array();
    for (const auto& u : v.unreachable) {
        Record o = Record::object();
        o["endpoint"] = u.endpoint;
        o["error"] = u.error;
        o["exit_code"] = u.exit_code;
        unreachable.push_back(std::move(o));
    }
    j["unreachable"] = std::move(unreachable);
    return j;
}

std::string render_json(const StatusView& v) {
    // Endpoints come from the command line and may not be UTF-8: replaced, never thrown on.
    return to_json(v).dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace) + "\n";
}

}  // namespace timepipe::observe
