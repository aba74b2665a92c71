// libtime/roughtime_online_key: the window and renewal times for short and long validities,
// the 1 s floor, saturation, and a simulated server whose served time moves forward (and
// sometimes steps back): every answer's MIDP lies in the delegation it is signed under — checked
// with the real client verification, seconds truncation included — and each key is replaced
// while the old one is still valid.
#include "libtime/roughtime/online_key.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/responder.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {
constexpr std::int64_t kS = kNanosPerSecond;
constexpr std::int64_t kH = 3600 * kS;
constexpr UnixNanos kT0 = 1'700'000'000 * kS + 123'456'789;

// Builds an RFC request, answers it with a Responder holding a delegation for `w`, and
// verifies the answer at `served` with the client code.
Expected<VerifiedTime, VerifyError> answer_at(const crypto::Ed25519KeyPair& long_term, const OnlineKeyWindow& w,
                                              UnixNanos served, Version v) {
    crypto::Ed25519KeyPair online = crypto::ed25519_generate();
    auto dele = make_delegation(long_term, online.public_key, w.mint, w.maxt);
    Responder responder(std::move(dele), std::move(online));
    std::array<std::byte, 64> nonce{};
    crypto::random_bytes(nonce);
    const Version offer[] = {v};
    auto req = make_request({.versions = offer,
                             .nonce = std::span(nonce).first(nonce_size(offer)),
                             .server_key = long_term.public_key});
    EXPECT_TRUE(req.has_value());
    const std::span<const std::byte> one[] = {*req};
    auto replies = responder.respond(one, served, 3 * kS);
    EXPECT_FALSE(replies[0].dropped.has_value());
    return verify_response(*req, replies[0].bytes, long_term.public_key);
}
}  // namespace

TEST(RotationSchedule, DayLongKeys) {
    RotationSchedule s(24 * kH);
    EXPECT_EQ(s.lead_ns(), kH);
    EXPECT_EQ(s.backdate_ns(), kH);
    const OnlineKeyWindow w = s.window_at(kT0);
    EXPECT_EQ(w.mint, kT0 - kH);
    EXPECT_EQ(w.maxt, kT0 + 24 * kH);
    EXPECT_EQ(s.renew_at(w), kT0 + 23 * kH);
    EXPECT_TRUE(s.usable(w, kT0));
    EXPECT_TRUE(s.usable(w, kT0 - kH));
    EXPECT_FALSE(s.usable(w, kT0 - kH - 1));
    EXPECT_TRUE(s.usable(w, kT0 + 23 * kH - 1));
    EXPECT_FALSE(s.usable(w, kT0 + 23 * kH));
}

TEST(RotationSchedule, ShortKeysAndTheFloor) {
    RotationSchedule two(2 * kS);
    EXPECT_EQ(two.lead_ns(), kS / 2);
    const OnlineKeyWindow w = two.window_at(kT0);
    EXPECT_EQ(w, (OnlineKeyWindow{kT0 - kS / 2, kT0 + 2 * kS}));
    EXPECT_EQ(two.renew_at(w), kT0 + 3 * kS / 2);
    RotationSchedule tiny(1);
    EXPECT_EQ(tiny.validity_ns(), RotationSchedule::kMinValidity);
    RotationSchedule long_lived(365 * 24 * kH);
    EXPECT_EQ(long_lived.lead_ns(), RotationSchedule::kMaxLead);
}

TEST(RotationSchedule, SaturatesAtTheEdgesOfTime) {
    RotationSchedule s(24 * kH);
    const auto max = std::numeric_limits<std::int64_t>::max();
    const auto min = std::numeric_limits<std::int64_t>::min();
    EXPECT_EQ(s.window_at(max - kS).maxt, max);
    EXPECT_EQ(s.window_at(min + kS).mint, min);
}

TEST(RotationSchedule, EdgesOfTheWindowVerifyInEveryVersion) {
    const crypto::Ed25519KeyPair lt = crypto::ed25519_generate();
    RotationSchedule s(2 * kS);
    const OnlineKeyWindow w = s.window_at(kT0);
    for (const auto& t : all_versions()) {
        for (UnixNanos at : {w.mint, kT0, s.renew_at(w) - 1, w.maxt}) {
            auto v = answer_at(lt, w, at, t.version);
            EXPECT_TRUE(v.has_value()) << t.name << " at " << at - kT0 << ": " << to_string(v.error());
        }
        // Outside the window the client refuses: the schedule must never let that be served.
        auto late = answer_at(lt, w, w.maxt + kS, t.version);
        ASSERT_FALSE(late.has_value()) << t.name;
        EXPECT_EQ(late.error(), VerifyError::MidpointOutsideDelegation);
    }
}

TEST(RotationSchedule, SimulatedServerAlwaysServesInsideItsKeysWindow) {
    std::mt19937_64 rng(test::test_seed("roughtime_online_key_test"));
    for (int run = 0; run < 200; ++run) {
        const std::int64_t validity = std::uniform_int_distribution<std::int64_t>(kS, 30 * 24 * kH)(rng);
        RotationSchedule s(validity);
        UnixNanos served = kT0;
        OnlineKeyWindow w = s.window_at(served);
        for (int step = 0; step < 500; ++step) {
            // Forward by up to the lead (a timer or a batch at least that often), or a small step back.
            const bool back = std::uniform_int_distribution<int>(0, 19)(rng) == 0;
            const std::int64_t d = std::uniform_int_distribution<std::int64_t>(0, s.lead_ns())(rng);
            served += back ? -std::min(d, s.backdate_ns()) : d;
            if (!s.usable(w, served)) {
                // The old key is still good when it is replaced on time (moving forward).
                if (!back) {
                    ASSERT_LE(served, w.maxt) << "validity " << validity;
                }
                w = s.window_at(served);
            }
            ASSERT_GE(served, w.mint);
            ASSERT_LE(served, w.maxt);
            ASSERT_TRUE(s.usable(w, served));
        }
        EXPECT_EQ(s.window_at(served).maxt - s.window_at(served).mint, validity + s.backdate_ns());
    }
}
