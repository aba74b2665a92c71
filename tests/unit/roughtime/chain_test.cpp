// libtime/roughtime_chain: the chained nonces of RFC 10049 appendix B derive as §8.2 says; the
// Chain builder keeps (key, rand, request, response) and refuses a request without its nonce;
// causality_violations on appendix B gives exactly (0,1) and (0,2), on hand-made boundaries, and
// against a 128-bit reference on random times; randomized chains across simulated responders
// (IETF and Google-Roughtime) verify link by link (TIMEPIPE_SEED=N replays one).
//
// Vectors: $TIMEPIPE_VECTORS, else ../shared/vectors from the current directory. Missing vectors
// fail the test.
#include "libtime/roughtime/chain.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/responder.hpp"
#include "libtime/roughtime/server_list.hpp"
#include "tests/unit/roughtime/roughtime_support.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::kSec;
using timepipe::test::read_vector_text;
using timepipe::test::SimServer;
using timepipe::test::test_seed;

struct Entry {
    crypto::PublicKey key{};
    Bytes rand, request, response;
};

// Appendix B, decoded by hand here so these tests do not depend on roughtime_report.
std::vector<Entry> appendix_b_entries() {
    auto j = nlohmann::ordered_json::parse(read_vector_text("rfc-draft19/appendix-b-example-malfeasance-report.json"),
                                           nullptr, false);
    std::vector<Entry> out;
    if (!j.is_object() || !j.contains("responses")) {
        ADD_FAILURE() << "appendix B did not parse";
        return out;
    }
    for (const auto& r : j["responses"]) {
        Entry e;
        auto k = base64_decode(r["publicKey"].get<std::string>());
        EXPECT_TRUE(k && k->size() == 32);
        if (k) std::copy_n(k->begin(), std::min<std::size_t>(32, k->size()), e.key.begin());
        if (r.contains("rand")) e.rand = base64_decode(r["rand"].get<std::string>()).value_or(Bytes{});
        e.request = base64_decode(r["request"].get<std::string>()).value_or(Bytes{});
        e.response = base64_decode(r["response"].get<std::string>()).value_or(Bytes{});
        out.push_back(std::move(e));
    }
    return out;
}

// Reference: the violations by the definition, in 128-bit arithmetic.
std::vector<CausalityViolation> reference(std::span<const StepTime> t) {
    std::vector<CausalityViolation> out;
    for (std::size_t i = 0; i < t.size(); ++i)
        for (std::size_t j = i + 1; j < t.size(); ++j) {
            __int128 lhs = __int128{t[i].midpoint} - t[i].radius_ns;
            __int128 rhs = __int128{t[j].midpoint} + t[j].radius_ns;
            if (lhs > rhs) {
                __int128 ex = lhs - rhs;
                __int128 max = std::numeric_limits<std::int64_t>::max();
                out.push_back({i, j, static_cast<std::int64_t>(ex > max ? max : ex)});
            }
        }
    return out;
}

}  // namespace

TEST(RoughtimeChain, AppendixBLinks) {
    auto b = appendix_b_entries();
    ASSERT_EQ(b.size(), 3u);
    EXPECT_TRUE(b[0].rand.empty());
    for (std::size_t i = 1; i < b.size(); ++i) {
        SCOPED_TRACE(i);
        ASSERT_EQ(b[i].rand.size(), kChainRandSize);
        auto nonce = request_nonce(b[i].request);
        ASSERT_TRUE(nonce);
        EXPECT_EQ(Bytes(nonce->begin(), nonce->end()), chain_nonce(b[i - 1].response, b[i].rand, 32));
        EXPECT_TRUE(check_link(b[i - 1].response, b[i].rand, b[i].request));
    }
    // Out of order, or with another rand, the links break.
    EXPECT_EQ(check_link(b[0].response, b[2].rand, b[2].request).error(), LinkError::Mismatch);
    EXPECT_EQ(check_link(b[1].response, b[1].rand, b[2].request).error(), LinkError::Mismatch);
    EXPECT_EQ(check_link(b[0].response, {}, b[1].request).error(), LinkError::MissingRand);
    EXPECT_EQ(check_link(b[0].response, std::span(b[1].rand).first(31), b[1].request).error(), LinkError::RandSize);
    EXPECT_EQ(check_link(b[0].response, b[1].rand, Bytes(b[1].request.begin(), b[1].request.begin() + 40)).error(),
              LinkError::NoNonce);
    EXPECT_EQ(to_string(LinkError::Mismatch), "nonce is not H(previous response || rand)");
}

TEST(RoughtimeChain, AppendixBCausality) {
    auto b = appendix_b_entries();
    ASSERT_EQ(b.size(), 3u);
    std::vector<StepTime> times;
    for (const auto& e : b) {
        auto t = verify_response(e.request, e.response, e.key);
        ASSERT_TRUE(t) << to_string(t.error());
        times.push_back({t->midpoint, t->radius_ns});
    }
    auto v = causality_violations(times);
    ASSERT_EQ(v.size(), 2u);
    EXPECT_EQ(v[0].earlier, 0u);
    EXPECT_EQ(v[0].later, 1u);
    EXPECT_EQ(v[1].earlier, 0u);
    EXPECT_EQ(v[1].later, 2u);
    // MIDPs 1774341043 / 1773533635 / 1773533635, RADI 3 each: (0 - 3) - (1 + 3) seconds.
    EXPECT_EQ(v[0].excess_ns, (times[0].midpoint - times[0].radius_ns) - (times[1].midpoint + times[1].radius_ns));
    EXPECT_EQ(v, reference(times));
}

TEST(RoughtimeChain, CausalityBoundaries) {
    // Equal bounds are consistent (§8.2: "less than or equal to").
    StepTime a{100 * kSec, 5 * kSec}, b{90 * kSec, 5 * kSec};
    EXPECT_TRUE(causality_violations(std::vector<StepTime>{a, b}).empty());
    b.midpoint -= 1;
    EXPECT_EQ(causality_violations(std::vector<StepTime>{a, b}), (std::vector<CausalityViolation>{{0, 1, 1}}));
    // The later one being ahead is never a violation.
    EXPECT_TRUE(causality_violations(std::vector<StepTime>{b, a}).empty());
    EXPECT_TRUE(causality_violations(std::vector<StepTime>{}).empty());
    EXPECT_TRUE(causality_violations(std::vector<StepTime>{a}).empty());
    // Saturated MAXT-like values do not overflow.
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    std::vector<StepTime> extreme{{kMax, 0}, {0, kMax}, {kMax, kMax}, {0, 0}};
    EXPECT_EQ(causality_violations(extreme), reference(extreme));
}

TEST(RoughtimeChain, BuilderKeepsSteps) {
    std::mt19937_64 rng(test_seed("roughtime_chain_test"));
    SimServer s1(rng), s2(rng);
    const std::vector<Version> v{Version::Rfc};
    Chain chain;
    EXPECT_EQ(chain.record(s1.long_term.public_key, Bytes(1024), Bytes{}).error().what,
              "chain: record without next_nonce");

    Bytes first(32, std::byte{7});
    auto n1 = chain.next_nonce(32, first);
    EXPECT_EQ(n1, first);
    auto req1 = *make_request({v, n1, s1.long_term.public_key});
    auto resp1 = s1.answer(req1, 1000 * kSec, 1, rng, v);
    ASSERT_TRUE(chain.record(s1.long_term.public_key, req1, resp1));

    Bytes rand(32, std::byte{9});
    auto n2 = chain.next_nonce(32, rand);
    EXPECT_EQ(n2, chain_nonce(resp1, rand, 32));
    auto stale = *make_request({v, n1, s2.long_term.public_key});
    EXPECT_EQ(chain.record(s2.long_term.public_key, stale, Bytes{}).error().what,
              "chain: the request does not carry the chained nonce");
    // s2 does not answer; a fresh nonce for the next try, still chained to resp1.
    auto n2b = chain.next_nonce(32);
    EXPECT_NE(n2b, n2);
    auto req2 = *make_request({v, n2b, s2.long_term.public_key});
    auto resp2 = s2.answer(req2, 1001 * kSec, 3, rng, v);
    ASSERT_TRUE(chain.record(s2.long_term.public_key, req2, resp2));
    EXPECT_EQ(chain.record(s2.long_term.public_key, req2, resp2).error().exit_code, EX_SOFTWARE);

    const auto& steps = chain.steps();
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_TRUE(steps[0].rand.empty());
    EXPECT_EQ(steps[0].public_key, s1.long_term.public_key);
    EXPECT_EQ(steps[0].request, req1);
    EXPECT_EQ(steps[0].response, resp1);
    EXPECT_EQ(steps[1].rand.size(), kChainRandSize);
    EXPECT_TRUE(check_link(steps[0].response, steps[1].rand, steps[1].request));
    EXPECT_EQ(steps[1].public_key, s2.long_term.public_key);
}

TEST(RoughtimeChain, RandomChainsAcrossResponders) {
    std::mt19937_64 rng(test_seed("roughtime_chain_test"));
    const std::vector<Version> offers[] = {{Version::Rfc}, {Version::Draft12, Version::Rfc}, {Version::Google},
                                           {Version::Draft08, Version::Draft11}};
    for (int round = 0; round < 12; ++round) {
        SCOPED_TRACE(round);
        std::size_t n = 2 + rng() % 4;
        std::vector<std::unique_ptr<SimServer>> servers;
        for (std::size_t i = 0; i < n; ++i) {
            servers.push_back(std::make_unique<SimServer>(rng));
            // Mostly honest; now and then one a day off.
            // Honest: within 0.4 s, radius at least 2 s, so whole-second MIDPs never conflict.
            servers.back()->offset_ns = rng() % 3 == 0 ? (static_cast<std::int64_t>(rng() % 2) * 2 - 1) * 86400 * kSec
                                                       : static_cast<std::int64_t>(rng() % (kSec * 8 / 10)) - kSec * 4 / 10;
            servers.back()->radius_ns = (2 + static_cast<std::int64_t>(rng() % 5)) * kSec;
        }
        Chain chain;
        UnixNanos now = 1'700'000'000 * kSec;
        std::vector<StepTime> times;
        for (std::size_t i = 0; i < n; ++i) {
            const auto& v = offers[rng() % 4];
            auto nonce = chain.next_nonce(nonce_size(v));
            EXPECT_EQ(nonce.size(), v[0] == Version::Google ? 64u : 32u);
            auto req = make_request({v, nonce, servers[i]->long_term.public_key});
            ASSERT_TRUE(req);
            auto resp = servers[i]->answer(*req, now, 1 + rng() % 6, rng, v);
            ASSERT_TRUE(chain.record(servers[i]->long_term.public_key, *req, resp));
            auto t = verify_response(*req, resp, servers[i]->long_term.public_key);
            ASSERT_TRUE(t) << to_string(t.error());
            times.push_back({t->midpoint, t->radius_ns});
            now += static_cast<std::int64_t>(rng() % (kSec / 10));
        }
        const auto& steps = chain.steps();
        ASSERT_EQ(steps.size(), n);
        for (std::size_t i = 1; i < n; ++i) {
            EXPECT_TRUE(check_link(steps[i - 1].response, steps[i].rand, steps[i].request)) << i;
            // Any other previous response breaks the link.
            if (i >= 2) {
                EXPECT_FALSE(check_link(steps[i - 2].response, steps[i].rand, steps[i].request)) << i;
            }
        }
        auto v = causality_violations(times);
        EXPECT_EQ(v, reference(times));
        // Honest servers (offset within their radius) never conflict with each other.
        for (const auto& c : v) {
            EXPECT_TRUE(std::abs(servers[c.earlier]->offset_ns) > kSec || std::abs(servers[c.later]->offset_ns) > kSec);
        }
    }
}

TEST(RoughtimeChain, RandomTimesAgainstReference) {
    std::mt19937_64 rng(test_seed("roughtime_chain_test"));
    for (int round = 0; round < 2000; ++round) {
        std::vector<StepTime> t(rng() % 7);
        for (auto& s : t) {
            bool wild = rng() % 8 == 0;
            s.midpoint = wild ? static_cast<std::int64_t>(rng() >> 1) : 1'000 * kSec + static_cast<std::int64_t>(rng() % (20 * kSec));
            s.radius_ns = wild ? static_cast<std::int64_t>(rng() >> 1) : static_cast<std::int64_t>(rng() % (5 * kSec));
        }
        ASSERT_EQ(causality_violations(t), reference(t));
    }
}
