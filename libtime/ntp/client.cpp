#include "libtime/ntp/client.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace timepipe::ntp {
namespace {

Unexpected<Rejection> reject(Reject r) { return Unexpected<Rejection>{Rejection{r, Kiss::Other, {}, 0, {}}}; }

// 2^rho s in ns. The server sets rho: from 34 on the value would not fit an int64 (undefined
// behaviour), so it is clamped at 2^31 s, which no root distance survives anyway.
std::int64_t precision_nanos(std::int8_t rho) {
    return static_cast<std::int64_t>(std::ldexp(1e9, std::min<int>(rho, 31)));
}

}  // namespace

std::string_view to_string(Reject r) {
    switch (r) {
    case Reject::Malformed: return "malformed packet";
    case Reject::NoRequest: return "reply without a request";
    case Reject::WrongMode: return "not a server reply";
    case Reject::Bogus: return "bogus origin timestamp";
    case Reject::KissOfDeath: return "kiss-o'-death";
    case Reject::BadVersion: return "bad version";
    case Reject::ZeroTransmit: return "zero transmit timestamp";
    case Reject::ZeroReceive: return "zero receive timestamp";
    case Reject::Unsynchronised: return "server unsynchronised";
    case Reject::NegativeDelay: return "negative delay";
    case Reject::BadDistance: return "root distance too large";
    }
    return "rejected";
}

bool ends_exchange(Reject r) {
    switch (r) {
    case Reject::Malformed:
    case Reject::NoRequest:
    case Reject::WrongMode:
    case Reject::Bogus: return false;
    default: return true;
    }
}

std::string Rejection::code_string() const {
    std::string s;
    for (char c : code) {
        if (c == '\0') break;
        s += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    return s;
}

std::string refid_text(const Header& h) {
    std::string s = refid_to_string(h.refid, h.stratum);
    if (s.size() >= 2 && s.front() == '.' && s.back() == '.') s = s.substr(1, s.size() - 2);
    return s;
}

Expected<Measurement, Rejection> check_reply(const Header& request, UnixNanos t1, const Header& reply, UnixNanos t4,
                                             const std::optional<InterleavedBase>& prev, const ClientConfig& config) {
    if (reply.mode != Mode::Server) return reject(Reject::WrongMode);
    // RFC 5905 §8 test 2 (bogus), RFC 9769 §2: a basic reply echoes our transmit, an
    // interleaved one the cookie in our receive field.
    const bool basic = !request.transmit.is_zero() && reply.origin == request.transmit;
    const bool interleaved = !basic && !request.origin.is_zero() && !request.receive.is_zero() &&
                             reply.origin == request.receive && prev.has_value();
    if (!basic && !interleaved) return reject(Reject::Bogus);
    // Only now is a kiss trusted: it answers our request (RFC 5905 §7.4).
    if (acts_as_kiss(reply)) {
        Rejection r{Reject::KissOfDeath, classify_kiss(reply.refid), kiss_code(reply.refid), reply.poll, {}};
        return Unexpected<Rejection>{r};
    }
    if (reply.version == 0 || reply.version > request.version) return reject(Reject::BadVersion);
    // Stratum 0 without a code that acts as a kiss is a server without time, as leap 3 is.
    const bool unsynchronised =
        reply.leap == Leap::Unsynchronized || reply.stratum == 0 || reply.stratum >= kMaxStratum;
    if (reply.transmit.is_zero()) return reject(unsynchronised ? Reject::Unsynchronised : Reject::ZeroTransmit);
    if (reply.receive.is_zero()) return reject(unsynchronised ? Reject::Unsynchronised : Reject::ZeroReceive);

    Measurement m;
    m.header = reply;
    m.interleaved = interleaved;
    UnixNanos a = t1, b = 0, c = to_unix_nanos(reply.transmit, t4), d = t4;
    if (interleaved) {
        // RFC 9769 §2: the previous exchange, completed by its true server transmit time.
        a = prev->t1;
        b = to_unix_nanos(prev->t2, prev->t4);
        d = prev->t4;
    } else {
        b = to_unix_nanos(reply.receive, t4);
    }
    const auto u = [](UnixNanos t) { return static_cast<std::uint64_t>(t); };
    const auto raw_delay = static_cast<std::int64_t>((u(d) - u(a)) - (u(c) - u(b)));
    if (raw_delay < -(precision_nanos(config.local_precision) + precision_nanos(reply.precision)))
        return reject(unsynchronised ? Reject::Unsynchronised : Reject::NegativeDelay);
    m.sample = on_wire(a, b, c, d, config.local_precision, reply.precision);
    m.time = d;
    m.root_distance = root_distance(m.sample, reply.root_delay, reply.root_dispersion);
    if (unsynchronised) {
        auto r = reject(Reject::Unsynchronised);
        r.error.measured = m;
        return r;
    }
    if (!(m.root_distance <= config.max_root_distance)) return reject(Reject::BadDistance);
    return m;
}

Client::Client(const ClientConfig& config, Random64 random)
    : config_(config),
      random_(std::move(random)),
      state_(config.interleaved ? InterleavedState::Basic : InterleavedState::Off) {}

std::uint64_t Client::nonzero_random(std::uint64_t avoid_a, std::uint64_t avoid_b) {
    for (;;) {
        const std::uint64_t v = random_();
        if (v != 0 && v != avoid_a && v != avoid_b) return v;
    }
}

void Client::reset_interleaving() {
    previous_.reset();
    previous_is_latest_ = false;
    if (state_ == InterleavedState::Interleaved) state_ = InterleavedState::Basic;
}

Header Client::next_request() {
    if (outstanding_) reset_interleaving();  // the last one went unanswered
    // Data minimisation: nothing but LI/VN/mode and a random transmit timestamp.
    Header h;
    h.leap = Leap::None;
    h.version = config_.version;
    h.mode = Mode::Client;
    const std::uint64_t previous_transmit = last_request_ ? last_request_->transmit.raw : 0;
    h.transmit = NtpTimestamp{nonzero_random(previous_transmit, 0)};
    bool interleaved = false;
    if (state_ == InterleavedState::Interleaved && previous_) {
        h.origin = previous_->t2;  // the previous reply's receive timestamp (RFC 9769 §2)
        h.receive = NtpTimestamp{nonzero_random(h.transmit.raw, h.origin.raw)};
        interleaved = true;
    }
    outstanding_ = Sent{h, 0, interleaved};
    last_request_ = h;
    previous_is_latest_ = false;
    return h;
}

void Client::on_sent(UnixNanos t1) {
    if (outstanding_) outstanding_->t1 = t1;
}

void Client::refine_transmit_time(UnixNanos t1) {
    if (outstanding_) outstanding_->t1 = t1;
    else if (previous_ && previous_is_latest_) previous_->t1 = t1;
}

Expected<Measurement, Rejection> Client::on_reply(std::span<const std::byte> datagram, UnixNanos t4) {
    auto packet = parse(datagram);
    if (!packet) return reject(Reject::Malformed);
    if (!outstanding_) return reject(Reject::NoRequest);
    const Sent sent = *outstanding_;
    auto m = check_reply(sent.request, sent.t1, packet->header, t4,
                         sent.interleaved ? previous_ : std::nullopt, config_);
    if (!m && !ends_exchange(m.error().reason)) return m;  // not the answer: keep waiting
    outstanding_.reset();
    if (!m) {
        reset_interleaving();
        return m;
    }
    if (m->interleaved) {
        basic_in_a_row_ = 0;
    } else if (sent.interleaved && ++basic_in_a_row_ >= config_.interleaved_give_up) {
        state_ = InterleavedState::GaveUp;  // the server keeps no timestamps for us
    }
    if (state_ == InterleavedState::Basic) state_ = InterleavedState::Interleaved;
    previous_ = InterleavedBase{sent.t1, packet->header.receive, t4};
    previous_is_latest_ = true;
    return m;
}

void Client::on_timeout() {
    if (!outstanding_) return;
    outstanding_.reset();
    reset_interleaving();
}

}  // namespace timepipe::ntp
