// libtime/ntp_client: requests (data minimisation), reply validation (every rejection), the
// on-wire sample of a hand-worked exchange, and the RFC 9769 interleaved client state machine.
#include "libtime/ntp/client.hpp"

#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "tests/unit/test_support.hpp"

namespace timepipe::ntp {
namespace {

using timepipe::test::kMs;
constexpr UnixNanos kX = 1'700'000'000 * kNanosPerSecond;  // the client's T1 in the first exchange

using timepipe::test::test_seed;

// Random bits that a test can also script: queued values first, then a seeded generator.
struct Bits {
    std::deque<std::uint64_t> queued;
    std::mt19937_64 gen{test_seed("ntp_client_test")};
    std::uint64_t operator()() {
        if (queued.empty()) return gen();
        auto v = queued.front();
        queued.pop_front();
        return v;
    }
};

Client make_client(Bits& bits, ClientConfig config = {}) {
    config.local_precision = -20;
    return Client(config, [&bits] { return bits(); });
}

// A server's answer to `req`: basic mode, T2/T3 from UnixNanos.
Header basic_reply(const Header& req, UnixNanos t2, UnixNanos t3) {
    Header h;
    h.version = req.version;
    h.mode = Mode::Server;
    h.stratum = 2;
    h.precision = -20;
    h.refid = 0xC0000201;  // 192.0.2.1
    h.reference = from_unix_nanos(t2 - kNanosPerSecond);
    h.origin = req.transmit;
    h.receive = from_unix_nanos(t2);
    h.transmit = from_unix_nanos(t3);
    return h;
}

std::vector<std::byte> wire(const Header& h) {
    std::vector<std::byte> out(kHeaderSize);
    auto n = serialize(h, {}, std::nullopt, out);
    EXPECT_TRUE(n.has_value());
    return out;
}

Reject rejection_of(Client& c, const Header& reply, UnixNanos t4) {
    auto m = c.on_reply(wire(reply), t4);
    EXPECT_FALSE(m.has_value());
    return m ? Reject::Malformed : m.error().reason;
}

// --- requests --------------------------------------------------------------------------------

TEST(NtpClientRequest, OnlyModeVersionAndRandomTransmit) {
    Bits bits;
    bits.queued = {0x0123456789abcdefULL};
    Client c = make_client(bits);
    Header h = c.next_request();
    EXPECT_EQ(h.mode, Mode::Client);
    EXPECT_EQ(h.version, 4);
    EXPECT_EQ(h.transmit.raw, 0x0123456789abcdefULL);  // the random value, not a clock reading
    auto bytes = wire(h);
    EXPECT_EQ(bytes[0], std::byte{0x23});  // LI 0, VN 4, mode 3
    for (std::size_t i = 1; i < 40; ++i) EXPECT_EQ(bytes[i], std::byte{0}) << "octet " << i;
    EXPECT_TRUE(c.outstanding());
}

TEST(NtpClientRequest, TransmitIsFreshNonZeroAndVersionConfigurable) {
    Bits bits;
    bits.queued = {0, 7, 7, 9};  // zero and a repeat of the previous transmit are skipped
    ClientConfig cfg;
    cfg.version = 3;
    Client c = make_client(bits, cfg);
    Header a = c.next_request();
    Header b = c.next_request();
    EXPECT_EQ(a.transmit.raw, 7u);
    EXPECT_EQ(b.transmit.raw, 9u);
    EXPECT_EQ(a.version, 3);
    // Seeded property: many requests, never a zero or repeated transmit.
    std::uint64_t prev = b.transmit.raw;
    for (int i = 0; i < 1000; ++i) {
        Header h = c.next_request();
        EXPECT_NE(h.transmit.raw, 0u);
        EXPECT_NE(h.transmit.raw, prev);
        prev = h.transmit.raw;
    }
}

// --- the sample of a hand-worked exchange ----------------------------------------------------
// The server is 5 ms ahead; 2 ms each way; the server holds the request 1 ms:
//   T1 = X, T2 = X + 7 ms, T3 = X + 8 ms, T4 = X + 5 ms
//   θ = ((T2 − T1) + (T3 − T4)) / 2 = (7 + 3) / 2 = 5 ms;  δ = (T4 − T1) − (T3 − T2) = 5 − 1 = 4 ms
TEST(NtpClientSample, HandWorkedExchange) {
    Bits bits;
    Client c = make_client(bits);
    Header req = c.next_request();
    c.on_sent(kX);
    auto m = c.on_reply(wire(basic_reply(req, kX + 7 * kMs, kX + 8 * kMs)), kX + 5 * kMs);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->sample.offset_ns, 5 * kMs);
    EXPECT_EQ(m->sample.delay_ns, 4 * kMs);
    EXPECT_NEAR(m->sample.offset, 0.005, 1e-9);
    EXPECT_NEAR(m->sample.delay, 0.004, 1e-9);
    // ε = 2^-20 + 2^-20 + 15e-6 · 5 ms
    EXPECT_NEAR(m->sample.dispersion, 2 * std::ldexp(1.0, -20) + 15e-6 * 0.005, 1e-12);
    EXPECT_EQ(m->time, kX + 5 * kMs);
    EXPECT_FALSE(m->interleaved);
    EXPECT_EQ(m->header.stratum, 2);
    EXPECT_NEAR(m->root_distance, 0.005 / 2 + m->sample.dispersion, 1e-9);  // max(MINDISP, δ)/2 + ε
    EXPECT_FALSE(c.outstanding());
    // A second copy of the same reply has no request to answer.
    EXPECT_EQ(rejection_of(c, basic_reply(req, kX + 7 * kMs, kX + 8 * kMs), kX + 6 * kMs), Reject::NoRequest);
}

TEST(NtpClientSample, KernelTransmitStampReplacesTheClockRead) {
    Bits bits;
    Client c = make_client(bits);
    Header req = c.next_request();
    c.on_sent(kX - 2 * kMs);  // a clock read well before the packet left
    c.refine_transmit_time(kX);
    auto m = c.on_reply(wire(basic_reply(req, kX + 7 * kMs, kX + 8 * kMs)), kX + 5 * kMs);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->sample.offset_ns, 5 * kMs);
    EXPECT_EQ(m->sample.delay_ns, 4 * kMs);
}

// --- rejections --------------------------------------------------------------------------------

struct Fixture {
    Bits bits;
    Client c = make_client(bits);
    Header req = c.next_request();
    Header good;
    Fixture() {
        c.on_sent(kX);
        good = basic_reply(req, kX + 7 * kMs, kX + 8 * kMs);
    }
};

TEST(NtpClientReject, BogusOriginLeavesTheExchangeOpen) {
    Fixture f;
    Header spoofed = f.good;
    spoofed.origin = NtpTimestamp{f.req.transmit.raw ^ 1};
    EXPECT_EQ(rejection_of(f.c, spoofed, kX + 5 * kMs), Reject::Bogus);
    Header zero = f.good;
    zero.origin = NtpTimestamp{0};
    EXPECT_EQ(rejection_of(f.c, zero, kX + 5 * kMs), Reject::Bogus);
    EXPECT_TRUE(f.c.outstanding());
    EXPECT_TRUE(f.c.on_reply(wire(f.good), kX + 5 * kMs).has_value());  // the real one still counts
}

TEST(NtpClientReject, WrongModeAndMalformedLeaveTheExchangeOpen) {
    Fixture f;
    for (Mode m : {Mode::Client, Mode::Broadcast, Mode::SymmetricPassive, Mode::SymmetricActive}) {
        Header h = f.good;
        h.mode = m;
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::WrongMode);
    }
    std::array<std::byte, 20> shortp{};
    shortp[0] = std::byte{0x24};
    auto r = f.c.on_reply(shortp, kX);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().reason, Reject::Malformed);
    EXPECT_FALSE(ends_exchange(Reject::Malformed));
    EXPECT_TRUE(f.c.outstanding());
}

TEST(NtpClientReject, KissCodesAreReportedOnlyWhenTheOriginMatches) {
    for (auto [code, kiss] : {std::pair{"RATE", Kiss::Rate}, {"DENY", Kiss::Deny}, {"RSTR", Kiss::Rstr}}) {
        Fixture f;
        Header kod = f.good;
        kod.stratum = 0;
        kod.leap = Leap::Unsynchronized;
        kod.poll = 7;
        kod.refid = *refid_from_string(code);
        kod.receive = kod.transmit = NtpTimestamp{0};  // a KoD may carry no times
        Header forged = kod;
        forged.origin = NtpTimestamp{12345};
        EXPECT_EQ(rejection_of(f.c, forged, kX + 5 * kMs), Reject::Bogus) << code;
        auto r = f.c.on_reply(wire(kod), kX + 5 * kMs);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().reason, Reject::KissOfDeath) << code;
        EXPECT_EQ(r.error().kiss, kiss) << code;
        EXPECT_EQ(r.error().code_string(), code);
        EXPECT_EQ(r.error().server_poll, 7);
        EXPECT_FALSE(f.c.outstanding());
    }
}

TEST(NtpClientReject, StratumZeroWithoutAKissCodeIsAnUnsynchronisedServer) {
    // What chronyd and ntp-serve send before they have the time: leap 3, stratum 0, refid 0,
    // real timestamps. Not a kiss: the reply is measured for display and refused as time.
    for (const char* code : {"", "XYZW", "INIT"}) {
        Fixture f;
        Header h = f.good;
        h.leap = Leap::Unsynchronized;
        h.stratum = 0;
        h.refid = *code ? *refid_from_string(code) : 0;
        auto r = f.c.on_reply(wire(h), kX + 5 * kMs);
        ASSERT_FALSE(r.has_value()) << code;
        EXPECT_EQ(r.error().reason, Reject::Unsynchronised) << code;
        ASSERT_TRUE(r.error().measured.has_value()) << code;
        EXPECT_EQ(r.error().measured->header.stratum, 0);
        EXPECT_EQ(r.error().measured->header.leap, Leap::Unsynchronized);
        EXPECT_GT(r.error().measured->sample.delay, 0.0);
        EXPECT_FALSE(f.c.outstanding());
    }
    {
        Fixture f;  // leap 0 but stratum 0 and no kiss code: still no time
        Header h = f.good;
        h.stratum = 0;
        h.refid = 0;
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::Unsynchronised);
    }
    {
        Fixture f;  // an unknown code without times: unsynchronised, nothing measured
        Header h = f.good;
        h.stratum = 0;
        h.leap = Leap::Unsynchronized;
        h.refid = *refid_from_string("XYZW");
        h.receive = h.transmit = NtpTimestamp{0};
        auto r = f.c.on_reply(wire(h), kX + 5 * kMs);
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().reason, Reject::Unsynchronised);
        EXPECT_FALSE(r.error().measured.has_value());
    }
}

TEST(NtpClientReject, ServerPrecisionBeyondAnInt64IsClamped) {
    // 2^34 s and more does not fit an int64 in ns: the reply is refused for its root distance,
    // without undefined behaviour (the sanitized build aborts on it), whatever the precision.
    for (int rho : {31, 34, 63, 127}) {
        Fixture f;
        Header h = f.good;
        h.precision = static_cast<std::int8_t>(rho);
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::BadDistance) << rho;
    }
    {
        Fixture f;  // a huge precision excuses a negative delay, never the distance
        Header h = basic_reply(f.req, kX + 7 * kMs, kX + 17 * kMs);
        h.precision = 100;
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::BadDistance);
    }
}

TEST(NtpClientReject, UnsynchronisedServer) {
    {
        Fixture f;
        Header h = f.good;
        h.leap = Leap::Unsynchronized;  // leap 3 with stratum 2: no time to give
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::Unsynchronised);
        EXPECT_FALSE(f.c.outstanding());
    }
    {
        Fixture f;
        Header h = f.good;
        h.stratum = 16;
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::Unsynchronised);
    }
}

TEST(NtpClientReject, ZeroTimestampsVersionDelayDistance) {
    {
        Fixture f;
        Header h = f.good;
        h.transmit = NtpTimestamp{0};
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::ZeroTransmit);
    }
    {
        Fixture f;
        Header h = f.good;
        h.receive = NtpTimestamp{0};
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::ZeroReceive);
    }
    {
        Bits bits;
        ClientConfig cfg;
        cfg.version = 3;
        Client c = make_client(bits, cfg);
        Header req = c.next_request();
        c.on_sent(kX);
        Header h = basic_reply(req, kX + 7 * kMs, kX + 8 * kMs);
        h.version = 4;  // answered above the version we spoke
        EXPECT_EQ(rejection_of(c, h, kX + 5 * kMs), Reject::BadVersion);
    }
    {
        Fixture f;  // the server claims to have held the request 10 ms within a 5 ms round trip
        Header h = basic_reply(f.req, kX + 7 * kMs, kX + 17 * kMs);
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::NegativeDelay);
    }
    {
        Fixture f;
        Header h = f.good;
        h.root_dispersion = short_from_seconds(2.0);  // λ > 1.5 s
        EXPECT_EQ(rejection_of(f.c, h, kX + 5 * kMs), Reject::BadDistance);
    }
    for (Reject r : {Reject::KissOfDeath, Reject::BadVersion, Reject::ZeroTransmit, Reject::ZeroReceive,
                     Reject::Unsynchronised, Reject::NegativeDelay, Reject::BadDistance})
        EXPECT_TRUE(ends_exchange(r)) << to_string(r);
}

TEST(NtpClientReject, TimeoutForgetsTheRequest) {
    Fixture f;
    f.c.on_timeout();
    EXPECT_FALSE(f.c.outstanding());
    EXPECT_EQ(rejection_of(f.c, f.good, kX + 5 * kMs), Reject::NoRequest);
}

// --- RFC 9769 interleaved client --------------------------------------------------------------

// A server that answers like RFC 9769 §2 asks, or in basic mode only.
struct Server {
    bool interleaved = true;
    NtpTimestamp last_rx;           // receive timestamp of the last response
    UnixNanos last_true_tx = 0;     // the true send time of that response
    Header answer(const Header& req, UnixNanos t2, UnixNanos t3_estimate, UnixNanos t3_true) {
        Header h = basic_reply(req, t2, t3_estimate);
        if (interleaved && !req.origin.is_zero() && req.origin == last_rx) {
            h.origin = req.receive;
            h.transmit = from_unix_nanos(last_true_tx);
        }
        last_rx = h.receive;
        last_true_tx = t3_true;
        return h;
    }
};

TEST(NtpClientInterleaved, BasicThenInterleavedWithThePreviousExchange) {
    Bits bits;
    ClientConfig cfg;
    cfg.interleaved = true;
    Client c = make_client(bits, cfg);
    Server s;
    EXPECT_EQ(c.interleaved_state(), InterleavedState::Basic);

    // Exchange 1, basic: the server writes T3 = +8 ms, but the packet really leaves at +8.5 ms.
    Header r1 = c.next_request();
    EXPECT_TRUE(r1.origin.is_zero());
    EXPECT_TRUE(r1.receive.is_zero());
    c.on_sent(kX);
    auto m1 = c.on_reply(wire(s.answer(r1, kX + 7 * kMs, kX + 8 * kMs, kX + 8 * kMs + kMs / 2)), kX + 5 * kMs + kMs / 2);
    ASSERT_TRUE(m1.has_value());
    EXPECT_FALSE(m1->interleaved);
    EXPECT_EQ(c.interleaved_state(), InterleavedState::Interleaved);

    // Exchange 2: origin = previous receive timestamp, receive = a cookie.
    Header r2 = c.next_request();
    EXPECT_EQ(r2.origin, from_unix_nanos(kX + 7 * kMs));
    EXPECT_FALSE(r2.receive.is_zero());
    EXPECT_NE(r2.receive, r2.transmit);
    c.on_sent(kX + kNanosPerSecond);
    Header a2 = s.answer(r2, kX + kNanosPerSecond + 7 * kMs, kX + kNanosPerSecond + 8 * kMs, 0);
    EXPECT_EQ(a2.origin, r2.receive);
    auto m2 = c.on_reply(wire(a2), kX + kNanosPerSecond + 5 * kMs);
    ASSERT_TRUE(m2.has_value());
    EXPECT_TRUE(m2->interleaved);
    // The previous exchange with its true T3: T1 = X, T2 = X+7, T3 = X+8.5, T4 = X+5.5 →
    // θ = (7 + 3) / 2 = 5 ms, δ = 5.5 − 1.5 = 4 ms.
    EXPECT_EQ(m2->sample.offset_ns, 5 * kMs);
    EXPECT_EQ(m2->sample.delay_ns, 4 * kMs);
    EXPECT_EQ(m2->time, kX + 5 * kMs + kMs / 2);
    // The basic sample of exchange 1 had the early T3: θ = (7 + 2.5) / 2, δ = 5.5 − 1 = 4.5 ms.
    EXPECT_EQ(m1->sample.offset_ns, 4'750'000);
    EXPECT_EQ(m1->sample.delay_ns, 4'500'000);
}

TEST(NtpClientInterleaved, InterleavedReplyToABasicRequestIsBogus) {
    Bits bits;
    ClientConfig cfg;
    cfg.interleaved = true;
    Client c = make_client(bits, cfg);
    Header r1 = c.next_request();
    c.on_sent(kX);
    Header h = basic_reply(r1, kX + 7 * kMs, kX + 8 * kMs);
    h.origin = NtpTimestamp{0x1111};  // "our cookie" — but we sent none
    EXPECT_EQ(rejection_of(c, h, kX + 5 * kMs), Reject::Bogus);
}

TEST(NtpClientInterleaved, FallsBackWhenTheServerAnswersBasic) {
    Bits bits;
    ClientConfig cfg;
    cfg.interleaved = true;
    cfg.interleaved_give_up = 3;
    Client c = make_client(bits, cfg);
    Server s;
    s.interleaved = false;
    UnixNanos t = kX;
    auto exchange = [&] {
        Header r = c.next_request();
        c.on_sent(t);
        auto m = c.on_reply(wire(s.answer(r, t + 7 * kMs, t + 8 * kMs, t + 8 * kMs)), t + 5 * kMs);
        t += kNanosPerSecond;
        EXPECT_TRUE(m.has_value());
        EXPECT_FALSE(m && m->interleaved);
        return r;
    };
    EXPECT_TRUE(exchange().origin.is_zero());  // basic: nothing to refer to yet
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(exchange().origin.is_zero()) << i;  // asked interleaved, got basic
    }
    EXPECT_EQ(c.interleaved_state(), InterleavedState::GaveUp);
    Header r = exchange();
    EXPECT_TRUE(r.origin.is_zero());
    EXPECT_TRUE(r.receive.is_zero());
}

TEST(NtpClientInterleaved, ALostReplyStartsOverInBasicMode) {
    Bits bits;
    ClientConfig cfg;
    cfg.interleaved = true;
    Client c = make_client(bits, cfg);
    Server s;
    Header r1 = c.next_request();
    c.on_sent(kX);
    ASSERT_TRUE(c.on_reply(wire(s.answer(r1, kX + 7 * kMs, kX + 8 * kMs, kX + 8 * kMs)), kX + 5 * kMs));
    Header r2 = c.next_request();
    EXPECT_FALSE(r2.origin.is_zero());
    c.on_timeout();
    EXPECT_EQ(c.interleaved_state(), InterleavedState::Basic);
    Header r3 = c.next_request();
    EXPECT_TRUE(r3.origin.is_zero());
    EXPECT_TRUE(r3.receive.is_zero());
}

TEST(NtpClientInterleaved, OffMeansBasicRequestsAlways) {
    Bits bits;
    Client c = make_client(bits);
    Server s;
    EXPECT_EQ(c.interleaved_state(), InterleavedState::Off);
    Header r1 = c.next_request();
    c.on_sent(kX);
    ASSERT_TRUE(c.on_reply(wire(s.answer(r1, kX + 7 * kMs, kX + 8 * kMs, kX + 8 * kMs)), kX + 5 * kMs));
    Header r2 = c.next_request();
    EXPECT_TRUE(r2.origin.is_zero());
    EXPECT_TRUE(r2.receive.is_zero());
}

// --- refid text ----------------------------------------------------------------------------------

TEST(NtpClientRefid, AsTheStreamCarriesIt) {
    Header h;
    h.stratum = 1;
    h.refid = *refid_from_string("GPS");
    EXPECT_EQ(refid_text(h), "GPS");
    h.stratum = 0;
    h.refid = *refid_from_string("RATE");
    EXPECT_EQ(refid_text(h), "RATE");
    h.stratum = 3;
    h.refid = 0x7F7F0101;  // chronyd's local reference
    EXPECT_EQ(refid_text(h), "127.127.1.1");
}

}  // namespace
}  // namespace timepipe::ntp
