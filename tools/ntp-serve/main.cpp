// ntp-serve: an NTPv4 server (RFC 5905) for the local clock or for an upstream followed through
// the time stream. Options and wiring only: protocol decisions are in libtime/ntp_server.*,
// the I/O loop in worker.cpp. See man/ntp-serve.8.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <sodium.h>

#include "libtime/sys/event_loop.hpp"
#include "libtime/base/host_port.hpp"
#include "libtime/stream/json_lines.hpp"
#include "libtime/base/log.hpp"
#include "libtime/base/crypto.hpp"
#include "libtime/nts/key_file.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/privileges.hpp"
#include "libtime/sys/status_socket.hpp"
#include "libtime/observe/snapshot.hpp"
#include "libtime/server/listen_addresses.hpp"
#include "libtime/server/upstream_feed.hpp"
#include "tools/ntp-serve/options.hpp"
#include "tools/ntp-serve/worker.hpp"

#ifndef TIMEPIPE_VERSION
#define TIMEPIPE_VERSION "0.1"
#endif

using namespace timepipe;
using namespace timepipe::serve;

namespace {

constexpr int kReceiveBuffer = 1 << 20;  // SO_RCVBUF per socket, capped by net.core.rmem_max
constexpr std::chrono::milliseconds kEndGrace{500};  // --upstream ended: a stop signal may follow

// The command-line rules, then those of the --acl-file.
Result<AccessPolicy> load_policy(const Options& opt) {
    std::vector<std::string> rules = opt.rules;
    if (opt.acl_file) {
        auto text = read_file(opt.acl_file->c_str());
        if (!text) return fail(*opt.acl_file + ": " + text.error().what, text.error().exit_code);
        auto more = parse_acl_file(*text);
        if (!more) return fail(*opt.acl_file + ": " + more.error().what, EX_DATAERR);
        rules.insert(rules.end(), more->begin(), more->end());
    }
    auto policy = make_access_policy(rules);
    if (!policy) return fail(policy.error().what, EX_USAGE);
    return policy;
}

CounterSnapshot total(const std::vector<std::unique_ptr<Worker>>& workers) {
    CounterSnapshot sum;
    for (const auto& w : workers) sum += w->counters().snapshot();
    return sum;
}

// false: stdout failed (its reader went away: EPIPE, or a full disk). The caller stops writing
// stats and keeps serving: a monitoring pipe closing must not stop a time server.
bool write_stats(OutputFormat format, const CounterSnapshot& counters, UnixNanos now) {
    Stats s{.source = "ntp-serve", .time = now, .counters = to_map(counters)};
    Record r = to_record(s);
    std::string text;
    if (format == OutputFormat::json) text = to_json_line(r);
    else if (format == OutputFormat::text) text = generic_line(r);
    else {
        std::vector<std::byte> bytes;
        if (auto ok = encode_record(r, bytes); !ok) log::fatalx(EX_SOFTWARE, "stats: %s", ok.error().what.c_str());
        for (std::byte b : bytes) text += static_cast<char>(b);
    }
    return std::fwrite(text.data(), 1, text.size(), stdout) == text.size() && std::fflush(stdout) == 0;
}

}  // namespace

int main(int argc, char* argv[]) {
    log::set_program(argv[0]);
    Options opt = parse_options(argc, argv);
    if (sodium_init() < 0) log::fatalx(EX_SOFTWARE, "libsodium: cannot initialise");
    std::signal(SIGPIPE, SIG_IGN);

    Shared shared;
    auto policy = load_policy(opt);
    if (!policy) log::fatalx(policy.error().exit_code, "%s", policy.error().what.c_str());
    shared.policy = std::make_shared<const AccessPolicy>(std::move(*policy));
    if (opt.upstream) shared.upstream.emplace(UpstreamConfig{opt.stale_after_ns, opt.correct});
    if (opt.nts_keys) {
        auto keys = nts::load_cookie_key_file(*opt.nts_keys);
        if (!keys) log::fatalx(keys.error().exit_code, "%s: %s", opt.nts_keys->c_str(), keys.error().what.c_str());
        shared.nts_keys = std::make_shared<const nts::CookieKeys>(std::move(*keys));
    }

    SystemClock clock;
    std::unique_ptr<UpstreamFeed> feed;
    if (opt.upstream) {
        auto f = UpstreamFeed::open(*opt.upstream);
        if (!f) log::fatalx(f.error().exit_code, "%s", f.error().what.c_str());
        feed = std::move(*f);
    }

    WorkerConfig wc;
    wc.responder.deny_kod = opt.deny_kod;
    wc.responder.interleaved = opt.interleaved;
    if (opt.rate_limit.enabled)  // the poll a KoD RATE asks for: the limiter's interval
        wc.responder.kod_poll = static_cast<std::int8_t>(std::clamp(std::ceil(std::log2(1.0 / opt.rate_limit.rate)), 0.0, 17.0));
    wc.rate_limit = opt.rate_limit;
    wc.stratum = opt.stratum;
    wc.coalesce = opt.coalesce;

    // Signals are watched before any socket is bound: whoever sees the port bound may signal us.
    std::vector<std::unique_ptr<Worker>> workers;
    auto loop = EventLoop::create();
    if (!loop) log::fatalx(loop.error().exit_code, "event loop: %s", loop.error().what.c_str());
    auto publish = [&](auto&& change) {
        std::lock_guard lock(shared.mu);
        change();
        shared.generation.fetch_add(1, std::memory_order_release);
    };

    auto signals = SignalWatcher::create(*loop, {SIGTERM, SIGINT, SIGHUP, SIGUSR1}, [&](int signo) {
        if (signo == SIGUSR1) {
            log::warnx("counters: %s", to_line(total(workers)).c_str());
        } else if (signo == SIGHUP) {
            auto fresh = load_policy(opt);
            if (!fresh) {
                log::warnx("reload: %s (keeping the old rules)", fresh.error().what.c_str());
                return;
            }
            auto p = std::make_shared<const AccessPolicy>(std::move(*fresh));
            publish([&] { shared.policy = p; });
            log::info("reload: %zu access rules, %zu restrict rules", p->access.rules().size(),
                      p->restricted.rules().size());
        } else {
            loop->stop();
        }
    });
    if (!signals) log::fatalx(signals.error().exit_code, "signals: %s", signals.error().what.c_str());

    std::optional<UserIds> user;
    if (opt.user) {
        auto u = lookup_user(*opt.user);
        if (!u) log::fatalx(u.error().exit_code, "--user: %s", u.error().what.c_str());
        user = std::move(*u);
    }

    // Bind everything before any thread starts, so a bad address is one error line and an exit.
    auto listen = listen_addresses(opt.listen, 123);
    if (!listen) log::fatalx(listen.error().exit_code, "%s", listen.error().what.c_str());
    const std::vector<ListenAddress>& addrs = *listen;
    // Transmit stamps only for the responses that need one (Outcome::tx_timestamp), and room
    // for bursts: requests that find the receive buffer full are lost.
    SocketOptions so{.reuse_port = opt.workers > 1,
                     .tx_timestamps = opt.interleaved,
                     .tx_timestamps_on_request = true,
                     .receive_buffer = kReceiveBuffer};
    std::vector<std::vector<UdpSocket>> socks(opt.workers);
    for (unsigned i = 0; i < opt.workers; ++i) {
        for (const auto& [a, v6_only] : addrs) {
            so.v6_only = v6_only;
            auto s = UdpSocket::bind(a, so);
            if (!s) log::fatalx(s.error().exit_code, "%s: %s", a.to_string().c_str(), s.error().what.c_str());
            if (i == 0) log::info("%s: listening", s->local_address().to_string().c_str());
            socks[i].push_back(std::move(*s));
        }
    }
    // Each client to one worker, by its address alone: its rate-limit and interleave state live
    // there, whatever source port it sends from (chronyd takes a new one for every request).
    for (std::size_t j = 0; j < addrs.size() && opt.workers > 1; ++j) {
        auto steered = socks[0][j].steer_by_source_address(opt.workers);
        if (!steered)
            log::fatalx(steered.error().exit_code, "%s: %s", addrs[j].address.to_string().c_str(),
                        steered.error().what.c_str());
    }
    for (auto& s : socks) workers.push_back(std::make_unique<Worker>(std::move(s), wc, shared));
    // --status-socket: created before the privileges go (the directory may be root's); its
    // thread sums the workers' atomic counters for each client, and shows the upstream's newest
    // records. Declared after `workers`: destroyed (joined) before them.
    const ProcessIdentity self = this_process();
    observe::SnapshotStore status_store(
        {"ntp-serve", 0, self.pid, self.started, TIMEPIPE_VERSION, opt.status_socket});
    std::optional<StatusSocket> status_socket;
    if (opt.status_socket) {
        auto s = StatusSocket::open(*opt.status_socket, static_cast<mode_t>(opt.status_mode), [&] {
            const UnixNanos now = wall_clock_now();
            status_store.publish(to_record(Stats{.source = "ntp-serve", .time = now, .counters = to_map(total(workers))}));
            return status_store.encode(now);
        });
        if (!s) log::fatalx(s.error().exit_code, "--status-socket: %s", s.error().what.c_str());
        status_socket.emplace(std::move(*s));
    }
    // Bound: root (and every capability) is no longer needed. Before any thread starts.
    if (user) {
        if (auto ok = drop_privileges(*user); !ok)
            log::fatalx(ok.error().exit_code, "--user %s: %s", user->name.c_str(), ok.error().what.c_str());
        log::info("running as %s (uid %u, gid %u)", user->name.c_str(), static_cast<unsigned>(user->uid),
                  static_cast<unsigned>(user->gid));
    }

    // --upstream: samples in, selection at once and again whenever a sample may have gone stale;
    // a change of state said once on stderr. A stream that ends ends the server (for systemd to
    // restart the pipeline), unless --stratum gives it a clock to fall back on.
    int exit_status = 0;
    std::optional<Timer> recheck;  // the next reselection, or, once the stream ended, the grace
    std::optional<Error> ended_why;
    std::optional<UpstreamLog> upstream_log;
    std::function<void()> reselect;
    if (feed) {
        upstream_log.emplace(feed->name());
        auto t = Timer::create(*loop, [&] { reselect(); });
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        recheck.emplace(std::move(*t));
        reselect = [&] {
            const UnixNanos now = clock.now();
            UpstreamReport report;
            UnixNanos next = 0;
            publish([&] {
                shared.upstream->update(now);
                report = shared.upstream->report();
                next = shared.upstream->next_change();
            });
            if (report.status != UpstreamStatus::ended) upstream_log->note(report);
            recheck->start(std::min(std::chrono::nanoseconds(std::max<std::int64_t>(0, next - now)) + std::chrono::milliseconds(1),
                                    std::chrono::nanoseconds(std::chrono::hours(1))));
        };
        auto started = feed->start(
            *loop,
            [&](const UpstreamRecord& record) {
                std::visit([&](const auto& r) { status_store.publish(to_record(r)); }, record);
                Result<void> ok;
                publish([&] { ok = shared.upstream->add(record, clock.now()); });
                if (ok) reselect();
                return ok;
            },
            [&](std::optional<Error> why) {
                publish([&] { shared.upstream->end(); });
                recheck->stop();
                // A service manager stopping the pipeline signals every process at once: said
                // and acted on after kEndGrace, unless SIGTERM or SIGINT comes first.
                ended_why = why;
                recheck.emplace(Timer::create(*loop, [&] {
                                    const std::string what = ended_why ? ended_why->what : feed->name() + ": the upstream ended";
                                    if (opt.stratum) {
                                        log::warnx("%s; serving the local clock at stratum %d from now on", what.c_str(),
                                                   *opt.stratum);
                                        return;
                                    }
                                    log::warnx("%s; exiting", what.c_str());
                                    exit_status = ended_why ? ended_why->exit_code : EX_UNAVAILABLE;
                                    loop->stop();
                                }).value());
                recheck->start(kEndGrace);
            });
        if (!started) log::fatalx(started.error().exit_code, "%s", started.error().what.c_str());
    } else if (!opt.stratum) {
        log::warnx("neither --stratum nor --upstream: every answer says unsynchronised (leap 3, stratum 0)");
    }

    // nts-ke rotates the key file (or an operator replaces it): the workers take the new keys
    // within a second. A file that cannot be read leaves the keys in memory.
    std::optional<Timer> nts_reload;
    std::string nts_seen = opt.nts_keys ? nts::format_cookie_keys(*shared.nts_keys) : "";
    if (opt.nts_keys) {
        auto t = Timer::create(*loop, [&] {
            auto keys = nts::load_cookie_key_file(*opt.nts_keys);
            if (!keys) {
                log::warnx("%s: %s (keeping the keys in memory)", opt.nts_keys->c_str(), keys.error().what.c_str());
                return;
            }
            auto text = nts::format_cookie_keys(*keys);
            if (text == nts_seen) return;
            crypto::secure_zero(std::as_writable_bytes(std::span(nts_seen)));
            nts_seen = std::move(text);
            auto k = std::make_shared<const nts::CookieKeys>(std::move(*keys));
            publish([&] { shared.nts_keys = k; });
            log::info("%s: reloaded, %zu keys", opt.nts_keys->c_str(), k->keys.size());
        });
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        t->start(std::chrono::seconds(1), std::chrono::seconds(1));
        nts_reload.emplace(std::move(*t));
    }

    std::optional<Timer> stats;
    if (opt.stats_interval_ns) {
        auto t = Timer::create(*loop, [&] {
            if (write_stats(opt.output, total(workers), clock.now())) return;
            log::warn("stdout: stats output stopped, still serving");
            stats->stop();
        });
        if (!t) log::fatalx(t.error().exit_code, "timer: %s", t.error().what.c_str());
        auto every = std::chrono::nanoseconds(*opt.stats_interval_ns);
        t->start(every, every);
        stats.emplace(std::move(*t));
    }

    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
    loop->run();

    shared.stop.store(true, std::memory_order_release);
    for (auto& t : threads) t.join();
    crypto::secure_zero(std::as_writable_bytes(std::span(nts_seen)));
    log::warnx("exiting: %s", to_line(total(workers)).c_str());
    return exit_status;
}
