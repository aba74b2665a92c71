// The I/O loop of ntp-query (see query.hpp): per source one UdpPeer (a connected UDP socket
// with kernel RX/TX timestamps), one poll timer, one timeout timer; per name a NameResolver.
#include "tools/ntp-query/query.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <csignal>
#include <map>
#include <memory>

#include <sodium/randombytes.h>

#include "libtime/sys/event_loop.hpp"
#include "libtime/base/log.hpp"
#include "libtime/ntp/association.hpp"
#include "libtime/ntp/filter.hpp"
#include "libtime/ntp/pool.hpp"
#include "libtime/sys/clock.hpp"
#include "libtime/sys/name_resolver.hpp"
#include "libtime/sys/udp_peer.hpp"

namespace ntp_query {

using namespace timepipe;
using std::chrono::nanoseconds;

std::string source_name(const SocketAddress& a) { return "ntp://" + a.to_string(); }

namespace {

std::uint64_t random64() {
    std::uint64_t v = 0;
    randombytes_buf(&v, sizeof v);
    return v;
}

std::uint32_t random32() { return randombytes_random(); }

// How bad the worst failure of a source was; the worst one is reported.
enum class Failure { None, NoAnswer, Unsynchronised, BadReply, Kiss, Local };

class Session;
class Name;

class Source {
public:
    Source(Session& session, const SocketAddress& address, Name* name);
    Result<void> open(EventLoop& loop);
    void abandon(const Error& e);  // no socket for this source: an ordinary outcome
    void start();
    void summarise();
    void retire();  // replaced by another address of its name: stop, say nothing more
    const SourceResult& result() const { return result_; }
    const SocketAddress& address() const { return address_; }
    Name* name() const { return name_; }
    bool done() const { return done_; }
    bool unreachable() const { return !done_ && poll_ && poll_->status() == ntp::PollStatus::Unreachable; }

private:
    void on_poll();
    void send();
    void on_error(const Error& e);
    void on_datagram(std::span<const std::byte> data, UnixNanos t4);
    void on_measurement(const ntp::Measurement& m);
    void on_kiss(const ntp::Rejection& r);
    void on_unsynchronised(const ntp::Rejection& r);
    bool nts_ready();
    void on_bad(ntp::Reject reason);
    void on_loss(const char* why);
    void reach_changed(ntp::PollStatus before);
    void fail(Failure f, std::string why, int exit_code);
    void next_try();
    void schedule();
    void finish();
    Sample to_record(const ntp::Measurement& m) const;
    void count(const char* counter);  // counts an event and publishes the source's counters

    Session& s_;
    SocketAddress address_;
    Name* name_;  // the server name it came from (nullptr: none)
    std::string subject_;
    std::unique_ptr<UdpPeer> peer_;
    std::optional<Timer> poll_timer_;
    std::optional<Timer> timeout_timer_;
    ntp::Client client_;
    std::optional<ntp::PollState> poll_;
    ntp::ClockFilter filter_;
    std::uint32_t tx_id_ = 0;
    std::uint8_t reach_ = 0;  // one-shot: one bit per try
    std::vector<ntp::NtpSample> samples_;
    std::vector<Sample> records_;
    std::vector<ntp::NtpSample> unsync_samples_;  // one-shot: replies of an unsynchronised server
    std::vector<Sample> unsync_records_;
    bool said_unsynchronised_ = false;  // --follow: said once until it has the time again
    Failure failure_ = Failure::None;
    SourceResult result_;
    bool done_ = false;
    bool summarised_ = false;
    bool retired_ = false;
    std::map<std::string, std::uint64_t> counters_;
};

// A server name of the command line and its sources. With --follow, resolved in the loop and
// retried from 2^minpoll s up to 2^maxpoll until it resolves; resolved again when one of its
// sources stops answering, whose place then goes to an address not in use (libtime/sys/
// name_resolver.hpp; as chronyd replaces pool sources).
class Name {
public:
    Name(Session& session, Server server);
    const Server& server() const { return server_; }
    void start();
    void on_unreachable() { resolver_.refresh(monotonic_now()); }  // one of its sources stopped answering
    bool waiting() const { return resolver_.waiting(); }  // no address yet: the run is not over
    std::optional<SourceResult> summary() const;

private:
    Session& s_;
    Server server_;
    NameResolver resolver_;
};

class Session {
public:
    Session(const QueryOptions& options, const std::function<void(const Sample&)>& emit)
        : options_(options), emit_(emit) {}

    std::vector<SourceResult> run(const std::vector<Server>& servers) {
        auto loop = EventLoop::create();
        if (!loop) log::fatalx(EX_OSERR, "event loop: %s", loop.error().what.c_str());
        loop_ = &*loop;
        auto signals = SignalWatcher::create(*loop, {SIGINT, SIGTERM}, [this](int) { loop_->stop(); });
        if (!signals) log::fatalx(EX_OSERR, "signals: %s", signals.error().what.c_str());
        auto deadline = Timer::create(*loop, [this] { loop_->stop(); });
        if (!deadline) log::fatalx(EX_OSERR, "timer: %s", deadline.error().what.c_str());
        if (options_.duration.count() > 0) deadline->start(options_.duration);
        for (const auto& server : servers) {
            names_.push_back(std::make_unique<Name>(*this, server));
            adopt(*names_.back(), server.addresses, false);
        }
        for (auto& src : sources_)
            if (!src->done()) src->start();
        for (auto& name : names_) name->start();
        if (!finished()) loop->run();
        std::vector<SourceResult> out;
        for (auto& src : sources_) {
            src->summarise();
            out.push_back(src->result());
        }
        for (auto& name : names_)
            if (auto r = name->summary()) out.push_back(*r);
        sources_.clear();  // watchers before their loop
        names_.clear();
        return out;
    }

    // New addresses of a name: each not in use takes the place of a source of the name that
    // stopped answering, or else becomes one more source, up to --max-sources of the name.
    // Returns how many were taken.
    std::size_t adopt(Name& name, const std::vector<SocketAddress>& addresses, bool start) {
        std::size_t taken = 0;
        for (const auto& a : addresses) {
            std::vector<ntp::PoolMember> live;
            std::vector<Source*> live_sources;
            for (auto& src : sources_) {
                if (src->done()) continue;
                live.push_back({src->address(), src->name() == &name, src->unreachable()});
                live_sources.push_back(src.get());
            }
            const auto place = ntp::place_address(a, live, options_.max_sources);
            if (place.kind != ntp::Placement::Add && place.kind != ntp::Placement::Replace) continue;
            Source* dead = place.kind == ntp::Placement::Replace ? live_sources[place.replaced] : nullptr;
            auto src = std::make_unique<Source>(*this, a, &name);
            Source& added = *src;
            sources_.push_back(std::move(src));
            if (auto ok = added.open(*loop_); !ok) {
                added.abandon(ok.error());
                ++done_;
                continue;
            }
            if (dead) {
                log::warnx("%s: replaced by %s", dead->address().to_string().c_str(), a.to_string().c_str());
                dead->retire();
            }
            if (start) added.start();
            ++taken;
        }
        return taken;
    }

    void emit(const Sample& s) {
        emit_(s);
        if (options_.count > 0 && ++emitted_ >= static_cast<std::uint64_t>(options_.count)) loop_->stop();
    }
    void source_done() {
        ++done_;
        if (finished()) loop_->stop();
    }
    // Every source is done and no name waits for an address.
    bool finished() const {
        return done_ >= sources_.size() &&
               std::none_of(names_.begin(), names_.end(), [](const auto& n) { return n->waiting(); });
    }
    void name_given_up() {
        if (finished()) loop_->stop();
    }
    EventLoop& loop() { return *loop_; }

    const QueryOptions& options() const { return options_; }
    const SystemClock& clock() const { return clock_; }
    nts::Siv& siv() { return siv_; }
    void publish_counters(const SocketAddress& a, const std::map<std::string, std::uint64_t>& counters) {
        if (options_.on_stats) options_.on_stats(Stats{source_name(a), clock_.now(), counters});
    }
    log::RateLimited& noise() { return noise_; }

private:
    QueryOptions options_;
    const std::function<void(const Sample&)>& emit_;
    SystemClock clock_;
    nts::Siv siv_;
    log::RateLimited noise_;
    EventLoop* loop_ = nullptr;
    std::vector<std::unique_ptr<Name>> names_;  // before sources_: a source points to its name
    std::vector<std::unique_ptr<Source>> sources_;
    std::size_t done_ = 0;
    std::uint64_t emitted_ = 0;
};

Source::Source(Session& session, const SocketAddress& address, Name* name)
    : s_(session),
      address_(address),
      name_(name),
      subject_(address.to_string()),
      client_(session.options().client, random64),
      filter_(std::ldexp(1.0, session.options().client.local_precision)) {
    result_.address = address;
    for (const char* c : {"sent", "received", "timeouts", "kod", "unsynchronised", "bad"}) counters_[c] = 0;
    if (name && name->server().nts) counters_["nts_nak"] = 0;
}

void Source::count(const char* counter) {
    ++counters_[counter];
    s_.publish_counters(address_, counters_);
}

Result<void> Source::open(EventLoop& loop) {
    auto peer = UdpPeer::open(loop, address_,
                              {.on_datagram = [this](std::span<const std::byte> d, UnixNanos t4) { on_datagram(d, t4); },
                               .on_tx_time =
                                   [this](std::uint32_t id, UnixNanos t) {
                                       if (id == tx_id_) client_.refine_transmit_time(t);
                                   },
                               .on_error = [this](const Error& e) { on_error(e); }});
    if (!peer) return Unexpected<Error>{peer.error()};
    peer_ = std::move(*peer);
    auto p = Timer::create(loop, [this] { on_poll(); });
    if (!p) return Unexpected<Error>{p.error()};
    poll_timer_.emplace(std::move(*p));
    auto t = Timer::create(loop, [this] {
        if (!client_.outstanding()) return;
        client_.on_timeout();
        on_loss("timeout");
    });
    if (!t) return Unexpected<Error>{t.error()};
    timeout_timer_.emplace(std::move(*t));
    return {};
}

void Source::abandon(const Error& e) {
    fail(Failure::Local, e.what, e.exit_code);
    done_ = true;
    summarise();
}

void Source::start() {
    if (s_.options().follow) {
        poll_.emplace(s_.options().poll, monotonic_now(), random32);
        schedule();
    } else {
        poll_timer_->start(nanoseconds(0));
    }
}

void Source::schedule() {
    auto at = poll_->next_poll_at();
    if (!at) return finish();
    poll_timer_->start(nanoseconds(std::max<std::int64_t>(0, *at - monotonic_now())));
}

void Source::on_poll() {
    if (done_) return;
    if (poll_) {
        if (client_.outstanding()) client_.on_timeout();  // ntp::PollState::on_sent counts it lost
        const auto before = poll_->status();
        poll_->on_sent(monotonic_now());
        reach_changed(before);
        send();
        if (!done_) schedule();
    } else {
        reach_ = static_cast<std::uint8_t>(reach_ << 1);
        send();
    }
}

// --nts: keys and a cookie for the next request, running NTS-KE again when the jar is empty
// (at start, after a NAK, after losing answers). Blocks the loop for the exchange (-t at most).
bool Source::nts_ready() {
    NtsAssociation& a = *name_->server().nts;
    if (a.session && !a.session->empty()) return true;
    ++a.key_exchanges;
    auto ke = nts::nts_key_exchange(a.ke_server, a.ke);
    if (!ke) {
        a.session.reset();
        fail(Failure::Local, "NTS-KE: " + ke.error().what, ke.error().exit_code);
        log::warnx("%s: NTS-KE: %s", subject_.c_str(), ke.error().what.c_str());
        return false;
    }
    if (a.key_exchanges > 1) log::info("%s: new NTS-KE: %zu cookies", subject_.c_str(), ke->response.cookies.size());
    a.session.emplace(ke->keys, std::move(ke->response.cookies));
    return true;
}

void Source::send() {
    ntp::Header h = client_.next_request();
    std::array<std::byte, 1280> buf{};
    auto n = ntp::serialize(h, {}, std::nullopt, std::span(buf).first<ntp::kHeaderSize>());
    if (!n) log::fatalx(EX_SOFTWARE, "cannot build a request: %s", std::string(ntp::to_string(n.error())).c_str());
    if (name_ && name_->server().nts) {
        if (!nts_ready()) {
            ++result_.sent;
            count("sent");
            client_.on_timeout();
            return on_loss("no NTS keys");
        }
        auto m = name_->server().nts->session->write_request(s_.siv(), buf);
        if (!m) log::fatalx(m.error().exit_code, "cannot build an NTS request: %s", m.error().what.c_str());
        n = *m;
    }
    tx_id_ = peer_->next_tx_id();
    const UnixNanos t1 = s_.clock().now();  // refined by the kernel's TX stamp when it comes
    auto sent = peer_->send(std::span<const std::byte>(buf.data(), *n));
    ++result_.sent;
    count("sent");
    if (!sent) {
        log::debug("%s: send: %s", subject_.c_str(), sent.error().what.c_str());
        client_.on_timeout();
        return on_loss(sent.error().what.c_str());
    }
    client_.on_sent(t1);
    timeout_timer_->start(s_.options().timeout);
}

// ICMP port unreachable and friends: this try has failed, no need to wait.
void Source::on_error(const Error& e) {
    log::debug("%s: %s", subject_.c_str(), e.what.c_str());
    if (!client_.outstanding()) return;
    client_.on_timeout();
    timeout_timer_->stop();
    on_loss(e.what.c_str());
}

void Source::on_datagram(std::span<const std::byte> data, UnixNanos t4) {
    if (name_ && name_->server().nts && client_.outstanding()) {
        auto& session = name_->server().nts->session;
        std::string why;
        auto v = session ? session->read_response(s_.siv(), data, &why) : nts::ResponseVerdict::invalid;
        if (v == nts::ResponseVerdict::invalid) {
            log::debug("%s: ignored a datagram: NTS: %s", subject_.c_str(), why.c_str());
            return;  // not an authentic answer: keep waiting for one
        }
        if (v == nts::ResponseVerdict::nak) {
            log::warnx("%s: NTS NAK: the server refused our cookie; NTS-KE again", subject_.c_str());
            count("nts_nak");
            timeout_timer_->stop();
            client_.on_timeout();
            return on_loss("NTS NAK");
        }
    }
    auto m = client_.on_reply(data, t4);
    if (m) {
        timeout_timer_->stop();
        return on_measurement(*m);
    }
    const ntp::Reject why = m.error().reason;
    if (!ntp::ends_exchange(why)) {
        log::debug("%s: ignored a datagram: %s", subject_.c_str(), std::string(ntp::to_string(why)).c_str());
        return;
    }
    timeout_timer_->stop();
    if (why == ntp::Reject::KissOfDeath) return on_kiss(m.error());
    if (why == ntp::Reject::Unsynchronised) return on_unsynchronised(m.error());
    on_bad(why);
}

Sample Source::to_record(const ntp::Measurement& m) const {
    Sample s;
    s.source = source_name(address_);
    s.time = m.time;
    s.offset = m.sample.offset;
    s.delay = m.sample.delay;
    s.dispersion = m.sample.dispersion;
    s.stratum = m.header.stratum;
    s.leap = static_cast<int>(m.header.leap);
    // Stratum 0 or 16 with leap 0 is no time either: the record says so to every reader.
    if (m.header.stratum == 0 || m.header.stratum >= ntp::kMaxStratum) s.leap = 3;
    s.refid = ntp::refid_text(m.header);
    s.poll = m.header.poll;
    s.root_delay = ntp::short_to_seconds(m.header.root_delay);
    s.root_dispersion = ntp::short_to_seconds(m.header.root_dispersion);
    s.precision = m.header.precision;
    s.version = m.header.version;
    s.interleaved = m.interleaved;
    s.auth = name_ && name_->server().nts ? "nts" : "none";
    return s;
}

void Source::on_measurement(const ntp::Measurement& m) {
    if (said_unsynchronised_) {
        said_unsynchronised_ = false;
        log::warnx("%s: server synchronised", subject_.c_str());
    }
    Sample rec = to_record(m);
    const ntp::NtpSample sample{m.sample.offset, m.sample.delay, m.sample.dispersion, m.time};
    const auto status = poll_ ? poll_->status() : ntp::PollStatus::Active;
    const double jitter = ntp::take_sample(filter_, poll_ ? &*poll_ : nullptr, sample, monotonic_now());
    ++result_.samples;
    count("received");
    if (poll_) {
        reach_changed(status);
        rec.reach = poll_->reach();
        rec.poll = poll_->poll_exponent();
        rec.jitter = jitter;
        s_.emit(rec);
        return;
    }
    reach_ |= 1;
    rec.jitter = jitter;
    samples_.push_back(sample);
    records_.push_back(std::move(rec));
    next_try();
}

void Source::on_kiss(const ntp::Rejection& r) {
    const std::string code = r.code_string();
    const std::string why = "kiss-o'-death " + code + ": " + std::string(ntp::kiss_meaning(r.kiss));
    count("received");
    count("kod");
    if (poll_) {
        poll_->on_kod(code, monotonic_now(), r.server_poll);
        if (poll_->status() == ntp::PollStatus::Demobilised) {
            fail(Failure::Kiss, why, EX_PROTOCOL);
            return finish();
        }
        if (r.kiss == ntp::Kiss::Rate)
            s_.noise().warnx("%s: %s: polling every 2^%d s", subject_.c_str(), why.c_str(), poll_->poll_exponent());
        return schedule();
    }
    fail(Failure::Kiss, why, EX_PROTOCOL);
    if (r.kiss == ntp::Kiss::Other) return next_try();
    finish();  // RATE, DENY, RSTR: ask no more
}

// An answer without time (leap 3, stratum 0 or 16): the server is reachable, its sample is
// shown with its leap and stratum, and never used.
void Source::on_unsynchronised(const ntp::Rejection& r) {
    const std::string why = "server is not synchronised";
    count("received");
    count("unsynchronised");
    fail(Failure::Unsynchronised, why, EX_UNAVAILABLE);
    std::optional<Sample> rec;
    if (r.measured) rec = to_record(*r.measured);
    if (poll_) {
        if (!said_unsynchronised_) log::warnx("%s: %s", subject_.c_str(), why.c_str());
        said_unsynchronised_ = true;
        const auto before = poll_->status();
        poll_->on_reply(monotonic_now(), true);  // it answered: reachable
        reach_changed(before);
        if (rec) {
            rec->reach = poll_->reach();
            rec->poll = poll_->poll_exponent();
            rec->jitter = 0;
            s_.emit(*rec);
        }
        return;
    }
    reach_ |= 1;
    if (rec) {
        const auto& ms = r.measured->sample;
        unsync_samples_.push_back(ntp::NtpSample{ms.offset, ms.delay, ms.dispersion, r.measured->time});
        unsync_records_.push_back(std::move(*rec));
    }
    next_try();
}

void Source::on_bad(ntp::Reject reason) {
    std::string why = "bad reply: " + std::string(ntp::to_string(reason));
    count("received");
    count("bad");
    if (poll_) {
        s_.noise().warnx("%s: %s", subject_.c_str(), why.c_str());
        const auto before = poll_->status();
        poll_->on_timeout(monotonic_now());
        reach_changed(before);
    }
    fail(Failure::BadReply, std::move(why), EX_PROTOCOL);
    if (!poll_) next_try();
}

void Source::on_loss(const char* why) {
    log::info("%s: no answer (%s)", subject_.c_str(), why);
    count("timeouts");
    fail(Failure::NoAnswer, {}, EX_UNAVAILABLE);
    if (poll_) {
        const auto before = poll_->status();
        poll_->on_timeout(monotonic_now());
        reach_changed(before);
    } else {
        next_try();
    }
}

// --follow: said once when a source stops answering (its reachability register is empty,
// RFC 5905 §13) and once when it answers again. While it does not answer, its name is asked
// whether another address should take its place.
void Source::reach_changed(ntp::PollStatus before) {
    switch (ntp::reach_change(before, poll_->status())) {
    case ntp::ReachChange::Lost: log::warnx("%s: not answering", subject_.c_str()); [[fallthrough]];
    case ntp::ReachChange::StillLost:
        if (name_) name_->on_unreachable();
        break;
    case ntp::ReachChange::Regained: log::warnx("%s: answering again", subject_.c_str()); break;
    case ntp::ReachChange::None: break;
    }
}

void Source::retire() {
    retired_ = true;
    finish();
}

void Source::fail(Failure f, std::string why, int exit_code) {
    if (f < failure_) return;
    failure_ = f;
    result_.failure = std::move(why);
    result_.exit_code = exit_code;
}

void Source::next_try() {
    if (result_.sent >= s_.options().count) return finish();
    poll_timer_->start(nanoseconds(0));  // from the loop, not recursively
}

void Source::finish() {
    if (done_) return;
    done_ = true;
    poll_timer_->stop();
    timeout_timer_->stop();
    peer_->stop();
    summarise();
    s_.source_done();
}

// The summary of a source, once: when it is done, or when the session ends.
void Source::summarise() {
    if (summarised_) return;
    summarised_ = true;
    if (auto i = ntp::best_sample(samples_); i && !poll_) {
        result_.best = records_[*i];
        result_.best->reach = reach_;
    } else if (auto j = ntp::best_sample(unsync_samples_); j && !poll_) {
        result_.best = unsync_records_[*j];
        result_.best->reach = reach_;
        result_.unsynchronised = true;
    }
    if (result_.samples > 0 && failure_ != Failure::Kiss) {
        result_.failure.clear();
        result_.exit_code = 0;
    } else if (failure_ == Failure::NoAnswer || (failure_ == Failure::None && result_.sent > 0)) {
        result_.failure = "no answer after " + std::to_string(result_.sent) + (result_.sent == 1 ? " try" : " tries");
        result_.exit_code = EX_UNAVAILABLE;
    }
    const bool said = retired_ || (poll_ && failure_ == Failure::Unsynchronised && said_unsynchronised_);
    if (!result_.failure.empty() && !said) log::warnx("%s: %s", subject_.c_str(), result_.failure.c_str());
}

Name::Name(Session& session, Server server)
    : s_(session),
      server_(std::move(server)),
      resolver_(session.loop(), server_.name, NameResolver::lookup(server_.host, 123, session.options().family),
                RetrySchedule(session.options().poll.minpoll, session.options().poll.maxpoll),
                {.on_addresses = [this](const std::vector<SocketAddress>& a) { return s_.adopt(*this, a, true); },
                 .on_settled = [this] { s_.name_given_up(); }}) {}

void Name::start() {
    if (s_.options().follow && server_.addresses.empty()) resolver_.start();  // else resolved before the run
}

std::optional<SourceResult> Name::summary() const {
    if (resolver_.resolved() || !server_.addresses.empty() || !s_.options().follow) return std::nullopt;
    SourceResult r;
    const std::string& failure = resolver_.failure();
    r.failure = failure.empty() ? "name resolution timed out" : failure;
    r.exit_code = resolver_.exit_code() == 0 ? EX_TEMPFAIL : resolver_.exit_code();
    if (failure.empty()) log::warnx("%s: %s", server_.name.c_str(), r.failure.c_str());
    return r;
}

}  // namespace

std::vector<SourceResult> run_query(const std::vector<Server>& servers, const QueryOptions& options,
                                    const std::function<void(const Sample&)>& emit) {
    Session session(options, emit);
    return session.run(servers);
}

}  // namespace ntp_query
