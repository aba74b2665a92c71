#include "libtime/server/responder.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::ntp;
using timepipe::test::test_seed;

namespace {

using timepipe::test::kSec;

constexpr UnixNanos kNow = 1'700'000'000 * kSec + 123'456'789;

const std::array<std::byte, 4> kClient{std::byte{192}, std::byte{0}, std::byte{2}, std::byte{7}};
const std::array<std::byte, 16> kKey{};

Header client_request(std::uint8_t version = 4) {
    Header h;
    h.version = version;
    h.mode = Mode::Client;
    h.poll = 6;
    h.precision = -20;
    h.transmit = NtpTimestamp{0x1122334455667788};
    h.origin = NtpTimestamp{0x0101010101010101};
    h.receive = NtpTimestamp{0x0202020202020202};
    return h;
}

std::vector<std::byte> bytes_of(const Header& h, std::size_t pad = 0) {
    std::vector<std::byte> out(kHeaderSize + 1024);
    auto n = serialize(h, {}, std::nullopt, out);
    EXPECT_TRUE(n.has_value());
    out.resize(*n + pad);
    return out;
}

Header decode(std::span<const std::byte> bytes) {
    auto p = parse(bytes);
    EXPECT_TRUE(p.has_value());
    return p ? p->header : Header{};
}

ServerState synced_state() {
    ServerState s;
    s.leap = Leap::InsertSecond;
    s.stratum = 3;
    s.precision = -23;
    s.root_delay = short_from_seconds(0.0125);
    s.root_dispersion = short_from_seconds(0.0031);
    s.refid = 0xC0000201;
    s.reference = from_unix_nanos(kNow - 10 * kSec);
    s.correction_ns = 0;
    return s;
}

struct Fixture {
    ServerCounters counters;
    Responder responder{{.deny_kod = true, .interleaved = false}, nullptr, nullptr, counters};
    std::array<std::byte, kHeaderSize> out{};
    Outcome handle(std::span<const std::byte> req, const ServerState& st = synced_state(),
                   std::span<const std::byte> client = kClient) {
        return responder.handle(req, client, kNow, kNow + 20'000, 0, st, out);
    }
};

}  // namespace

TEST(NtpServer, ResponseCarriesEveryField) {
    Fixture f;
    auto req = bytes_of(client_request());
    Outcome o = f.handle(req);
    ASSERT_EQ(o.length, kHeaderSize);
    ASSERT_EQ(o.reply, Reply::Basic);
    Header h = decode(f.out);
    ServerState st = synced_state();
    EXPECT_EQ(h.leap, Leap::InsertSecond);
    EXPECT_EQ(h.version, 4);
    EXPECT_EQ(h.mode, Mode::Server);
    EXPECT_EQ(h.stratum, 3);
    EXPECT_EQ(h.poll, 6);
    EXPECT_EQ(h.precision, -23);
    EXPECT_EQ(h.root_delay, st.root_delay);
    EXPECT_EQ(h.root_dispersion, st.root_dispersion);
    EXPECT_EQ(h.refid, 0xC0000201u);
    EXPECT_EQ(h.reference, st.reference);
    EXPECT_EQ(h.origin, client_request().transmit);
    EXPECT_EQ(h.receive, from_unix_nanos(kNow));
    EXPECT_EQ(h.transmit, from_unix_nanos(kNow + 20'000));
    EXPECT_EQ(o.receive, h.receive);
    EXPECT_EQ(f.counters.get(Counter::received), 1u);
    EXPECT_EQ(f.counters.get(Counter::answered), 1u);
}

TEST(NtpServer, CorrectionShiftsReceiveAndTransmitOnly) {
    Fixture f;
    ServerState st = synced_state();
    st.correction_ns = -1'500'000;
    auto req = bytes_of(client_request());
    ASSERT_EQ(f.handle(req, st).length, kHeaderSize);
    Header h = decode(f.out);
    EXPECT_EQ(h.receive, from_unix_nanos(kNow - 1'500'000));
    EXPECT_EQ(h.transmit, from_unix_nanos(kNow + 20'000 - 1'500'000));
    EXPECT_EQ(h.origin, client_request().transmit);
}

TEST(NtpServer, TransmitNeverEqualsReceive) {
    ServerCounters c;
    Responder r({}, nullptr, nullptr, c);
    std::array<std::byte, kHeaderSize> out{};
    auto req = bytes_of(client_request());
    ASSERT_EQ(r.handle(req, kClient, kNow, kNow, 0, synced_state(), out).length, kHeaderSize);
    Header h = decode(out);
    EXPECT_EQ(h.transmit.raw, h.receive.raw + 1);
}

TEST(NtpServer, VersionIsEchoed) {
    for (std::uint8_t v = 1; v <= 4; ++v) {
        Fixture f;
        Header req = client_request(v);
        if (v == 1) req.mode = Mode::Reserved;  // NTPv1 has no mode: 0 means a client
        auto bytes = bytes_of(req);
        ASSERT_EQ(f.handle(bytes).length, kHeaderSize) << int(v);
        EXPECT_EQ(decode(f.out).version, v);
        EXPECT_EQ(decode(f.out).mode, Mode::Server);
    }
}

TEST(NtpServer, PollIsClamped) {
    for (int poll : {-128, -7, -6, 0, 10, 17, 18, 127}) {
        Fixture f;
        Header req = client_request();
        req.poll = static_cast<std::int8_t>(poll);
        auto bytes = bytes_of(req);
        ASSERT_EQ(f.handle(bytes).length, kHeaderSize);
        EXPECT_EQ(decode(f.out).poll, std::clamp(poll, -6, 17)) << poll;
    }
}

TEST(NtpServer, UnsynchronisedStillAnswersWithLeap3Stratum0) {
    Fixture f;
    auto req = bytes_of(client_request());
    ASSERT_EQ(f.handle(req, unsynchronised_state(-21)).length, kHeaderSize);
    Header h = decode(f.out);
    EXPECT_EQ(h.leap, Leap::Unsynchronized);
    EXPECT_EQ(h.stratum, 0);
    EXPECT_EQ(h.refid, 0u);
    EXPECT_EQ(h.precision, -21);
    EXPECT_EQ(h.origin, client_request().transmit);
}

TEST(NtpServer, LocalClockState) {
    ServerState one = local_clock_state(1, -20, kNow);
    EXPECT_EQ(one.refid, kRefidLocl);
    EXPECT_EQ(one.leap, Leap::None);
    EXPECT_EQ(one.stratum, 1);
    EXPECT_EQ(one.reference, from_unix_nanos(kNow));
    ServerState ten = local_clock_state(10, -20, kNow);
    EXPECT_EQ(ten.refid, 0x7F7F0101u);
    EXPECT_EQ(ten.stratum, 10);
    EXPECT_EQ(ten.root_delay.raw, 0u);
}

TEST(NtpServer, ExtensionFieldsAreStrippedSoTheResponseNeverGrows) {
    Fixture f;
    Header req = client_request();
    std::array<std::byte, 40> value{};
    ExtensionField field{0x0104, value};
    std::vector<std::byte> bytes(512);
    auto n = serialize(req, std::span(&field, 1), std::nullopt, bytes);
    ASSERT_TRUE(n.has_value());
    bytes.resize(*n);
    ASSERT_GT(bytes.size(), kHeaderSize);
    Outcome o = f.handle(bytes);
    EXPECT_EQ(o.length, kHeaderSize);
}

TEST(NtpServer, ModesOtherThanClientAreDroppedWithTheirReason) {
    struct Case { Mode mode; Drop drop; Counter counter; };
    for (Case c : {Case{Mode::SymmetricActive, Drop::WrongMode, Counter::dropped_mode},
                   Case{Mode::SymmetricPassive, Drop::WrongMode, Counter::dropped_mode},
                   Case{Mode::Server, Drop::WrongMode, Counter::dropped_mode},
                   Case{Mode::Broadcast, Drop::WrongMode, Counter::dropped_mode},
                   Case{Mode::Reserved, Drop::WrongMode, Counter::dropped_mode}}) {
        Fixture f;
        Header req = client_request();
        req.mode = c.mode;
        auto bytes = bytes_of(req);
        Outcome o = f.handle(bytes);
        EXPECT_EQ(o.length, 0u);
        EXPECT_EQ(o.drop, c.drop) << int(c.mode);
        EXPECT_EQ(f.counters.get(c.counter), 1u);
    }
}

TEST(NtpServer, ControlAndPrivateModesAreNeverAnswered) {
    // ntpq's 12-octet READSTAT request, and a 48-octet one; ntpdc's monlist (mode 7).
    std::vector<std::byte> mode6(12);
    mode6[0] = std::byte{0x16};
    mode6[1] = std::byte{0x01};
    std::vector<std::byte> mode6_long(48);
    mode6_long[0] = std::byte{0x26};
    std::vector<std::byte> mode7(48);
    mode7[0] = std::byte{0x17};
    mode7[3] = std::byte{0x2a};  // MON_GETLIST_1
    Fixture f;
    EXPECT_EQ(f.handle(mode6).drop, Drop::ControlMode);
    EXPECT_EQ(f.handle(mode6_long).drop, Drop::ControlMode);
    EXPECT_EQ(f.handle(mode7).drop, Drop::PrivateMode);
    EXPECT_EQ(f.counters.get(Counter::dropped_mode6), 2u);
    EXPECT_EQ(f.counters.get(Counter::dropped_mode7), 1u);
    EXPECT_EQ(f.counters.get(Counter::answered), 0u);
}

TEST(NtpServer, MalformedIsDropped) {
    Fixture f;
    std::vector<std::byte> empty;
    std::vector<std::byte> short47(47, std::byte{0x23});
    auto bad_version = bytes_of(client_request());
    bad_version[0] = std::byte{0x2b};  // version 5
    auto v0 = bytes_of(client_request());
    v0[0] = std::byte{0x03};
    auto odd_tail = bytes_of(client_request(), 5);
    auto bad_field = bytes_of(client_request(), 32);
    bad_field[kHeaderSize + 3] = std::byte{7};  // field length 7
    for (const auto& b : {empty, short47, bad_version, v0, odd_tail, bad_field}) {
        Outcome o = f.handle(b);
        EXPECT_EQ(o.length, 0u);
        EXPECT_EQ(o.drop, Drop::Malformed) << b.size();
    }
    EXPECT_EQ(f.counters.get(Counter::dropped_malformed), 6u);
    EXPECT_EQ(f.counters.get(Counter::received), 6u);
}

TEST(NtpServer, KissOfDeathPackets) {
    Header req = client_request(3);
    req.poll = 2;
    std::array<std::byte, kHeaderSize> out{};
    for (auto [kiss, code] : {std::pair{Kiss::Rate, 0x52415445u}, std::pair{Kiss::Deny, 0x44454E59u},
                              std::pair{Kiss::Rstr, 0x52535452u}}) {
        write_kiss(req, kiss, 5, out);
        Header h = decode(out);
        EXPECT_TRUE(is_kiss_of_death(h));
        EXPECT_EQ(classify_kiss(h.refid), kiss);
        EXPECT_EQ(h.refid, code);
        EXPECT_EQ(h.leap, Leap::Unsynchronized);
        EXPECT_EQ(h.stratum, 0);
        EXPECT_EQ(h.version, 3);
        EXPECT_EQ(h.mode, Mode::Server);
        EXPECT_EQ(h.poll, 5);  // max(request, asked)
        EXPECT_EQ(h.origin, req.transmit);
        EXPECT_EQ(h.receive, req.transmit);  // no time given away
        EXPECT_EQ(h.transmit, req.transmit);
    }
}

TEST(NtpServer, DeniedClientsGetKodDenyOrSilence) {
    std::vector<std::string> rules{"deny 192.0.2.0/24"};
    auto policy = make_access_policy(rules);
    ASSERT_TRUE(policy.has_value());
    auto req = bytes_of(client_request());
    for (bool kod : {true, false}) {
        ServerCounters c;
        Responder r({.deny_kod = kod}, nullptr, nullptr, c);
        r.set_policy(std::make_shared<const AccessPolicy>(*policy));
        std::array<std::byte, kHeaderSize> out{};
        Outcome o = r.handle(req, kClient, kNow, kNow, 0, synced_state(), out);
        if (kod) {
            ASSERT_EQ(o.length, kHeaderSize);
            EXPECT_EQ(o.reply, Reply::KissDeny);
            EXPECT_EQ(classify_kiss(decode(out).refid), Kiss::Deny);
            EXPECT_EQ(c.get(Counter::kod_deny), 1u);
        } else {
            EXPECT_EQ(o.length, 0u);
            EXPECT_EQ(o.drop, Drop::Denied);
            EXPECT_EQ(c.get(Counter::dropped_denied), 1u);
        }
        // Another address is served.
        std::array<std::byte, 4> other{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{1}};
        EXPECT_EQ(r.handle(req, other, kNow, kNow, 0, synced_state(), out).reply, Reply::Basic);
    }
}

TEST(NtpServer, RestrictedClientsGetKodRstr) {
    std::vector<std::string> rules{"allow all", "restrict 192.0.2.7"};
    auto policy = make_access_policy(rules);
    ASSERT_TRUE(policy.has_value());
    ServerCounters c;
    Responder r({}, nullptr, nullptr, c);
    r.set_policy(std::make_shared<const AccessPolicy>(*policy));
    std::array<std::byte, kHeaderSize> out{};
    auto req = bytes_of(client_request());
    Outcome o = r.handle(req, kClient, kNow, kNow, 0, synced_state(), out);
    EXPECT_EQ(o.reply, Reply::KissRstr);
    EXPECT_EQ(classify_kiss(decode(out).refid), Kiss::Rstr);
    EXPECT_EQ(c.get(Counter::kod_rstr), 1u);
}

TEST(NtpServer, RateLimitGivesKodRateThenSilence) {
    RateLimitConfig cfg;
    cfg.rate = 1;
    cfg.burst = 2;
    cfg.kod_shift = 2;
    RateLimiter limiter(cfg, kKey);
    ServerCounters c;
    Responder r({.kod_poll = 4}, &limiter, nullptr, c);
    std::array<std::byte, kHeaderSize> out{};
    auto req = bytes_of(client_request());
    int basic = 0, kod = 0, silent = 0;
    for (int i = 0; i < 40; ++i) {
        Outcome o = r.handle(req, kClient, kNow, kNow, 1000 * i, synced_state(), out);
        if (o.reply == Reply::Basic) ++basic;
        else if (o.reply == Reply::KissRate) {
            ++kod;
            Header h = decode(out);
            EXPECT_EQ(classify_kiss(h.refid), Kiss::Rate);
            EXPECT_EQ(h.poll, 6);  // the request's 6 > kod_poll 4
        } else {
            EXPECT_EQ(o.drop, Drop::RateLimited);
            ++silent;
        }
    }
    EXPECT_EQ(basic, 2);
    EXPECT_GE(kod, 1);
    EXPECT_GT(silent, kod);
    EXPECT_EQ(c.get(Counter::kod_rate), static_cast<std::uint64_t>(kod));
    EXPECT_EQ(c.get(Counter::dropped_rate), static_cast<std::uint64_t>(silent));
}

TEST(NtpServer, KodDenyIsRateLimitedToo) {
    RateLimitConfig cfg;
    cfg.rate = 1;
    cfg.burst = 1;
    RateLimiter limiter(cfg, kKey);
    std::vector<std::string> rules{"deny all"};
    ServerCounters c;
    Responder r({.deny_kod = true}, &limiter, nullptr, c);
    r.set_policy(std::make_shared<const AccessPolicy>(*make_access_policy(rules)));
    std::array<std::byte, kHeaderSize> out{};
    auto req = bytes_of(client_request());
    int kods = 0;
    for (int i = 0; i < 20; ++i)
        kods += r.handle(req, kClient, kNow, kNow, i, synced_state(), out).reply == Reply::KissDeny;
    EXPECT_EQ(kods, 1);
    EXPECT_EQ(c.get(Counter::dropped_denied), 19u);
}

TEST(NtpServer, InterleavedExchange) {
    InterleaveTable table(64, kKey);
    ServerCounters c;
    Responder r({.interleaved = true}, nullptr, &table, c);
    std::array<std::byte, kHeaderSize> out{};

    // 1. Basic request: basic answer, remembered.
    Header req1 = client_request();
    req1.origin = NtpTimestamp{};
    req1.receive = NtpTimestamp{};
    auto b1 = bytes_of(req1);
    Outcome o1 = r.handle(b1, kClient, kNow, kNow + 1000, 0, synced_state(), out);
    ASSERT_EQ(o1.reply, Reply::Basic);
    Header resp1 = decode(out);
    EXPECT_EQ(resp1.origin, req1.transmit);
    // The kernel reports when response 1 really left.
    NtpTimestamp true_tx1 = from_unix_nanos(kNow + 5000);
    EXPECT_TRUE(table.update_transmit(kClient, o1.receive, true_tx1));

    // 2. Interleaved request (RFC 9769): origin = receive timestamp of response 1, receive = a cookie.
    Header req2 = client_request();
    req2.origin = resp1.receive;
    req2.receive = NtpTimestamp{0xABCDEF0123456789};
    req2.transmit = NtpTimestamp{0x5555555555555555};
    auto b2 = bytes_of(req2);
    UnixNanos rx2 = kNow + kSec;
    Outcome o2 = r.handle(b2, kClient, rx2, rx2 + 1000, 0, synced_state(), out);
    ASSERT_EQ(o2.reply, Reply::Interleaved);
    Header resp2 = decode(out);
    EXPECT_EQ(resp2.origin, req2.receive);        // echoes the cookie
    EXPECT_EQ(resp2.receive, from_unix_nanos(rx2));  // this request's receive time
    EXPECT_EQ(resp2.transmit, true_tx1);          // the previous response's true transmit time
    EXPECT_EQ(c.get(Counter::interleaved), 1u);

    // 3. A stale origin (not the last receive timestamp) falls back to basic.
    Header req3 = req2;
    auto b3 = bytes_of(req3);
    Outcome o3 = r.handle(b3, kClient, rx2 + kSec, rx2 + kSec + 1000, 0, synced_state(), out);
    EXPECT_EQ(o3.reply, Reply::Basic);
    EXPECT_EQ(decode(out).origin, req3.transmit);

    // 4. Another client with the same origin is not interleaved.
    std::array<std::byte, 4> other{std::byte{198}, std::byte{51}, std::byte{100}, std::byte{9}};
    Header req4 = client_request();
    req4.origin = decode(out).receive;
    auto b4 = bytes_of(req4);
    EXPECT_EQ(r.handle(b4, other, rx2 + 2 * kSec, rx2 + 2 * kSec, 0, synced_state(), out).reply, Reply::Basic);
}

// Which responses ask for a kernel transmit stamp: the first to a new client and every
// interleaved one; a known client asking in basic mode (a load generator, most clients) not.
TEST(NtpServer, TransmitStampOnlyWhereInterleavedModeCanUseIt) {
    InterleaveTable table(64, kKey);
    ServerCounters c;
    Responder r({.interleaved = true}, nullptr, &table, c);
    std::array<std::byte, kHeaderSize> out{};
    Header basic = client_request();
    basic.origin = NtpTimestamp{};
    basic.receive = NtpTimestamp{};
    auto b = bytes_of(basic);
    Outcome o1 = r.handle(b, kClient, kNow, kNow + 1000, 0, synced_state(), out);
    EXPECT_EQ(o1.reply, Reply::Basic);
    EXPECT_TRUE(o1.tx_timestamp);  // new client: its next request may be interleaved
    EXPECT_TRUE(table.update_transmit(o1.client, o1.receive, from_unix_nanos(kNow + 3000)));
    Outcome o2 = r.handle(b, kClient, kNow + kSec, kNow + kSec, 0, synced_state(), out);
    EXPECT_EQ(o2.reply, Reply::Basic);
    EXPECT_FALSE(o2.tx_timestamp);  // known, asks in basic mode
    const NtpTimestamp sent_tx2 = decode(out).transmit;

    Header xl = client_request();
    xl.origin = o2.receive;
    xl.receive = NtpTimestamp{0x0123456789ABCDEF};
    auto bx = bytes_of(xl);
    Outcome o3 = r.handle(bx, kClient, kNow + 2 * kSec, kNow + 2 * kSec, 0, synced_state(), out);
    EXPECT_EQ(o3.reply, Reply::Interleaved);  // with the daemon's transmit of response 2
    EXPECT_EQ(decode(out).transmit, sent_tx2);
    EXPECT_TRUE(o3.tx_timestamp);
    NtpTimestamp true_tx3 = from_unix_nanos(kNow + 2 * kSec + 7000);
    EXPECT_TRUE(table.update_transmit(o3.client, o3.receive, true_tx3));
    xl.origin = o3.receive;
    auto bx4 = bytes_of(xl);
    Outcome o4 = r.handle(bx4, kClient, kNow + 3 * kSec, kNow + 3 * kSec, 0, synced_state(), out);
    EXPECT_EQ(o4.reply, Reply::Interleaved);
    EXPECT_EQ(decode(out).transmit, true_tx3);  // the kernel's time of response 3
    EXPECT_TRUE(o4.tx_timestamp);

    // Interleaved mode off: never.
    InterleaveTable t2(64, kKey);
    Responder off({.interleaved = false}, nullptr, &t2, c);
    EXPECT_FALSE(off.handle(b, kClient, kNow, kNow, 0, synced_state(), out).tx_timestamp);
}

TEST(NtpServer, InterleavedOffAnswersBasic) {
    InterleaveTable table(64, kKey);
    ServerCounters c;
    Responder r({.interleaved = false}, nullptr, &table, c);
    std::array<std::byte, kHeaderSize> out{};
    auto b1 = bytes_of(client_request());
    Outcome o1 = r.handle(b1, kClient, kNow, kNow, 0, synced_state(), out);
    Header req2 = client_request();
    req2.origin = o1.receive;
    auto b2 = bytes_of(req2);
    EXPECT_EQ(r.handle(b2, kClient, kNow + kSec, kNow + kSec, 0, synced_state(), out).reply, Reply::Basic);
}

TEST(NtpServer, ReceiveTimestampsAreUniquePerClient) {
    InterleaveTable table(64, kKey);
    ServerCounters c;
    Responder r({.interleaved = true}, nullptr, &table, c);
    std::array<std::byte, kHeaderSize> out{};
    auto b = bytes_of(client_request());
    NtpTimestamp last{};
    for (int i = 0; i < 5; ++i) {  // the same kernel receive time five times
        Outcome o = r.handle(b, kClient, kNow, kNow, 0, synced_state(), out);
        if (i > 0) {
            EXPECT_GT(diff_fixed(o.receive, last), 0);
        }
        last = o.receive;
    }
}

// Random bytes, and random mutations of a valid request: never a crash, never a response
// larger than the request, and a response only to something that parses as a client request.
TEST(NtpServer, RandomInputNeverGrows) {
    std::mt19937_64 rng(test_seed("ntp_server_test"));
    RateLimitConfig cfg;
    RateLimiter limiter(cfg, kKey);
    InterleaveTable table(64, kKey);
    ServerCounters c;
    Responder r({.interleaved = true}, &limiter, &table, c);
    std::array<std::byte, kHeaderSize> out{};
    auto valid = bytes_of(client_request(), 0);
    for (int i = 0; i < 20000; ++i) {
        std::vector<std::byte> b;
        if (i % 2 == 0) {
            b.resize(rng() % 200);
            for (auto& x : b) x = std::byte(rng());
        } else {
            b = valid;
            b.resize(kHeaderSize + (rng() % 4) * 4 + ((rng() % 8 == 0) ? rng() % 64 : 0));
            for (int k = 0; k < 3; ++k) b[rng() % b.size()] = std::byte(rng());
        }
        Outcome o = r.handle(b, kClient, kNow, kNow, i, synced_state(), out);
        ASSERT_LE(o.length, b.size());
        ASSERT_EQ(o.length != 0, o.reply.has_value());
        ASSERT_EQ(o.length == 0, o.drop.has_value());
        if (o.length != 0) {
            ASSERT_TRUE(accept_request(b).has_value());
        }
    }
}

// An NTS request (RFC 8915): a 16-octet last extension field (Unique Identifier, cookie),
// which RFC 7822's rules call a bad MAC. accept_request() retries with NTS rules, so the
// client still gets a basic answer (its fields are not echoed); without the retry it would be
// dropped as malformed.
TEST(NtpServer, NtsRequestIsAnsweredWithoutItsFields) {
    Fixture f;
    Header req = client_request();
    const std::array<std::byte, 12> uid{};
    const ExtensionField field{0x0104, uid};
    std::vector<std::byte> bytes(256);
    auto n = serialize(req, std::span(&field, 1), std::nullopt, bytes, ExtensionRules::Nts);
    ASSERT_TRUE(n.has_value());
    bytes.resize(*n);
    ASSERT_EQ(bytes.size(), kHeaderSize + 16);
    ASSERT_FALSE(parse(bytes).has_value());  // not valid under RFC 7822 alone
    Outcome o = f.handle(bytes);
    EXPECT_EQ(o.length, kHeaderSize);
    EXPECT_EQ(o.reply, Reply::Basic);
    EXPECT_EQ(decode(std::span(f.out).first(o.length)).origin, req.transmit);
    EXPECT_EQ(f.counters.get(Counter::answered), 1u);
}

// admit() then answer() is handle() in two parts (ntp-serve checks a batch's NTS requests in
// between): the same bytes and counters for an answered request; a refused client (rate limit,
// restrict) is refused at admit(), which writes its kiss, and answer() never runs for it; a
// malformed request is refused there too.
TEST(NtpServer, AdmitThenAnswerIsHandleInTwoParts) {
    auto req = bytes_of(client_request());
    Fixture whole, parts;
    Outcome o = whole.handle(req);
    auto a = parts.responder.admit(req, kClient, 0, parts.out);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->transmit, client_request().transmit);
    Outcome p = parts.responder.answer(*a, kClient, kNow, kNow + 20'000, synced_state(), parts.out);
    EXPECT_EQ(p.length, o.length);
    EXPECT_EQ(p.reply, o.reply);
    EXPECT_EQ(parts.out, whole.out);
    for (Counter c : {Counter::received, Counter::answered})
        EXPECT_EQ(parts.counters.get(c), whole.counters.get(c)) << static_cast<int>(c);

    RateLimitConfig cfg;
    cfg.rate = 1;
    cfg.burst = 1;
    cfg.kod_shift = 0;
    RateLimiter limiter(cfg, kKey);
    ServerCounters c;
    Responder r({.kod_poll = 4}, &limiter, nullptr, c);
    std::array<std::byte, kHeaderSize> out{};
    ASSERT_TRUE(r.admit(req, kClient, 0, out));
    auto refused = r.admit(req, kClient, 1000, out);  // over the rate at once
    ASSERT_FALSE(refused);
    EXPECT_TRUE(refused.error().reply == Reply::KissRate || refused.error().drop == Drop::RateLimited);
    if (refused.error().reply == Reply::KissRate) EXPECT_EQ(classify_kiss(decode(out).refid), Kiss::Rate);
    EXPECT_EQ(c.get(Counter::answered), 0u);  // answer() was never called

    auto bad = parts.responder.admit(std::span(req).first(47), kClient, 0, parts.out);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().drop, Drop::Malformed);
    EXPECT_EQ(bad.error().length, 0u);
}
