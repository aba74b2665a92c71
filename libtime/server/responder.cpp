#include "libtime/server/responder.hpp"

#include <algorithm>

namespace timepipe::ntp {

namespace {

std::int8_t clamp_poll(std::int8_t poll) { return std::clamp(poll, kMinServedPoll, kMaxServedPoll); }

constexpr std::uint32_t kiss_refid(Kiss k) {
    switch (k) {
    case Kiss::Rate: return 0x52415445;  // RATE
    case Kiss::Deny: return 0x44454E59;  // DENY
    case Kiss::Rstr: return 0x52535452;  // RSTR
    case Kiss::Ntsn: return 0x4E54534E;  // NTSN
    case Kiss::Other: break;
    }
    return 0;
}

}  // namespace

ServerState unsynchronised_state(std::int8_t precision) {
    ServerState s;
    s.precision = precision;
    return s;
}

ServerState local_clock_state(std::uint8_t stratum, std::int8_t precision, UnixNanos now) {
    ServerState s;
    s.leap = Leap::None;
    s.stratum = stratum;
    s.precision = precision;
    s.refid = stratum <= 1 ? kRefidLocl : kRefidLocal;
    s.reference = from_unix_nanos(now);
    return s;
}

std::string_view to_string(Drop d) {
    switch (d) {
    case Drop::Malformed: return "malformed";
    case Drop::ControlMode: return "mode 6";
    case Drop::PrivateMode: return "mode 7";
    case Drop::WrongMode: return "not a client request";
    case Drop::Denied: return "denied";
    case Drop::RateLimited: return "rate limited";
    }
    return "unknown";
}

Counter counter_for(Drop d) {
    switch (d) {
    case Drop::Malformed: return Counter::dropped_malformed;
    case Drop::ControlMode: return Counter::dropped_mode6;
    case Drop::PrivateMode: return Counter::dropped_mode7;
    case Drop::WrongMode: return Counter::dropped_mode;
    case Drop::Denied: return Counter::dropped_denied;
    case Drop::RateLimited: return Counter::dropped_rate;
    }
    return Counter::dropped_malformed;
}

std::string_view to_string(Reply r) {
    switch (r) {
    case Reply::Basic: return "basic";
    case Reply::Interleaved: return "interleaved";
    case Reply::KissRate: return "KoD RATE";
    case Reply::KissDeny: return "KoD DENY";
    case Reply::KissRstr: return "KoD RSTR";
    case Reply::KissNtsn: return "NTS NAK";
    }
    return "unknown";
}

Expected<Header, Drop> accept_request(std::span<const std::byte> packet) noexcept {
    auto p = parse(packet, ExtensionRules::Rfc7822);
    if (!p && (p.error() == ParseError::BadExtensionField || p.error() == ParseError::BadMacLength))
        p = parse(packet, ExtensionRules::Nts);  // an NTS request: we ignore its fields anyway
    if (!p) {
        switch (p.error()) {
        case ParseError::ControlMode: return unexpected(Drop::ControlMode);
        case ParseError::PrivateMode: return unexpected(Drop::PrivateMode);
        default: return unexpected(Drop::Malformed);
        }
    }
    const Header& h = p->header;
    bool client = h.mode == Mode::Client || (h.version == 1 && h.mode == Mode::Reserved);
    if (!client) return unexpected(Drop::WrongMode);
    return h;
}

void write_response(const Header& request, const ServerState& state, const ReplyTimes& t,
                    std::span<std::byte, kHeaderSize> out) noexcept {
    Header h;
    h.leap = state.leap;
    h.version = request.version;
    h.mode = Mode::Server;
    h.stratum = state.stratum;
    h.poll = clamp_poll(request.poll);
    h.precision = state.precision;
    h.root_delay = state.root_delay;
    h.root_dispersion = state.root_dispersion;
    h.refid = state.refid;
    h.reference = state.reference;
    h.origin = t.origin;
    h.receive = t.receive;
    h.transmit = t.transmit;
    encode_header(h, out);
}

void write_kiss(const Header& request, Kiss code, std::int8_t poll, std::span<std::byte, kHeaderSize> out) noexcept {
    Header h;
    h.leap = Leap::Unsynchronized;
    h.version = request.version;
    h.mode = Mode::Server;
    h.stratum = 0;
    h.poll = clamp_poll(std::max(request.poll, poll));
    h.precision = 0;
    h.refid = kiss_refid(code);
    h.origin = request.transmit;
    h.receive = request.transmit;
    h.transmit = request.transmit;
    encode_header(h, out);
}

Outcome Responder::refuse(const Header& req, Kiss code, std::span<const std::byte> client, std::int64_t mono_ns,
                          std::span<std::byte, kHeaderSize> out) noexcept {
    Outcome o;
    if (limiter_ != nullptr && limiter_->check(client, mono_ns) != RateDecision::Pass) {
        o.drop = Drop::Denied;
        counters_->bump(Counter::dropped_denied);
        return o;
    }
    write_kiss(req, code, config_.kod_poll, out);
    o.length = kHeaderSize;
    o.reply = code == Kiss::Deny ? Reply::KissDeny : Reply::KissRstr;
    counters_->bump(code == Kiss::Deny ? Counter::kod_deny : Counter::kod_rstr);
    return o;
}

Outcome Responder::handle(std::span<const std::byte> request, std::span<const std::byte> client, UnixNanos rx_time,
                          UnixNanos tx_time, std::int64_t mono_ns, const ServerState& state,
                          std::span<std::byte> out) noexcept {
    auto req = admit(request, client, mono_ns, out);
    if (!req) return req.error();
    return answer(*req, client, rx_time, tx_time, state, out);
}

Expected<Header, Outcome> Responder::admit(std::span<const std::byte> request, std::span<const std::byte> client,
                                           std::int64_t mono_ns, std::span<std::byte> out_any) noexcept {
    counters_->bump(Counter::received);
    Outcome o;
    auto req = accept_request(request);
    if (!req || out_any.size() < kHeaderSize) {
        o.drop = req ? Drop::Malformed : req.error();
        counters_->bump(counter_for(*o.drop));
        return Unexpected<Outcome>{o};
    }
    std::span<std::byte, kHeaderSize> out = out_any.first<kHeaderSize>();

    if (policy_->access.check(client) == Verdict::Deny) {
        if (!config_.deny_kod) {
            o.drop = Drop::Denied;
            counters_->bump(Counter::dropped_denied);
            return Unexpected<Outcome>{o};
        }
        return Unexpected<Outcome>{refuse(*req, Kiss::Deny, client, mono_ns, out)};
    }
    if (policy_->restricted.check(client) == Verdict::Deny)
        return Unexpected<Outcome>{refuse(*req, Kiss::Rstr, client, mono_ns, out)};

    if (limiter_ != nullptr) {
        switch (limiter_->check(client, mono_ns)) {
        case RateDecision::Pass: break;
        case RateDecision::Kod:
            write_kiss(*req, Kiss::Rate, config_.kod_poll, out);
            o.length = kHeaderSize;
            o.reply = Reply::KissRate;
            counters_->bump(Counter::kod_rate);
            return Unexpected<Outcome>{o};
        case RateDecision::Drop:
            o.drop = Drop::RateLimited;
            counters_->bump(Counter::dropped_rate);
            return Unexpected<Outcome>{o};
        }
    }
    return *req;
}

Outcome Responder::answer(const Header& req, std::span<const std::byte> client, UnixNanos rx_time, UnixNanos tx_time,
                          const ServerState& state, std::span<std::byte> out_any) noexcept {
    Outcome o;
    std::span<std::byte, kHeaderSize> out = out_any.first<kHeaderSize>();
    NtpTimestamp rx = from_unix_nanos(rx_time + state.correction_ns);
    const bool xleave = table_ != nullptr && config_.interleaved;
    if (xleave) {
        o.client = table_->locate(client);  // one keyed hash for the whole exchange
        rx = table_->unique_receive(o.client, rx);
    }
    // The transmit timestamp read now, kept later than the receive one so that neither can be
    // mistaken for the other (a basic client echoes our transmit as its next origin).
    NtpTimestamp tx = from_unix_nanos(tx_time + state.correction_ns);
    if (diff_fixed(tx, rx) <= 0) tx.raw = rx.raw + 1;
    ReplyTimes t{req.transmit, rx, tx};
    o.reply = Reply::Basic;
    if (xleave) {
        o.tx_timestamp = !o.client.known();
        if (auto prev_tx = table_->interleaved_transmit(o.client, req.origin)) {
            t.origin = req.receive;
            t.transmit = *prev_tx;
            o.reply = Reply::Interleaved;
            o.tx_timestamp = true;
        }
        table_->record(o.client, rx, tx);  // tx until the kernel reports the true one
    }
    write_response(req, state, t, out);
    o.length = kHeaderSize;
    o.receive = t.receive;
    counters_->bump(Counter::answered);
    if (o.reply == Reply::Interleaved) counters_->bump(Counter::interleaved);
    return o;
}

}  // namespace timepipe::ntp
