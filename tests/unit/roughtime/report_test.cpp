// libtime/roughtime_report: RFC 10049 appendix B reads, verifies completely and shows exactly
// the conflicts (0,1) and (0,2) naming the first server; written back it is the same document;
// malformed reports fail naming the JSON path; tampered reports (a bit flipped in SIG, CERT,
// PATH, INDX, NONC, MIDP; a broken rand; swapped entries or responses) fail for the right
// reason; randomized chains across simulated responders write, read and verify
// (TIMEPIPE_SEED=N replays one).
//
// Vectors: $TIMEPIPE_VECTORS, else ../shared/vectors from the current directory. Missing vectors
// fail the test.
#include "libtime/roughtime/report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>

#include "libtime/roughtime/message.hpp"
#include "libtime/roughtime/responder.hpp"
#include "libtime/roughtime/server_list.hpp"
#include "tests/unit/roughtime/roughtime_support.hpp"
#include "tests/unit/test_support.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

using Bytes = std::vector<std::byte>;
using Json = nlohmann::ordered_json;
using timepipe::test::kSec;
using timepipe::test::read_vector_text;
using timepipe::test::SimServer;
using timepipe::test::test_seed;

const char kAppendixB[] = "rfc-draft19/appendix-b-example-malfeasance-report.json";

Report appendix_b() {
    auto r = parse_report(read_vector_text(kAppendixB));
    if (!r) {
        ADD_FAILURE() << "appendix B: " << r.error().what;
        return {};
    }
    return std::move(*r);
}

std::string report_error(std::string_view json) {
    auto r = parse_report(json);
    if (r) return "no error";
    EXPECT_EQ(r.error().exit_code, EX_DATAERR);
    return r.error().what;
}

// Offset in `packet` of the value of `t` in the top-level response message, or, with `inner`,
// of `t` inside the nested message `inner` (SREP, CERT).
std::size_t value_offset(const Bytes& packet, Tag t, std::optional<Tag> inner = std::nullopt) {
    auto body = is_framed(packet) ? *unframe(packet) : std::span<const std::byte>(packet);
    auto msg = parse_message(body);
    EXPECT_TRUE(msg);
    if (!msg) return 0;
    std::optional<std::span<const std::byte>> v;
    if (inner) {
        auto sub = msg->message(*inner);
        EXPECT_TRUE(sub);
        if (!sub) return 0;
        v = sub->find(t);
    } else {
        v = msg->find(t);
    }
    EXPECT_TRUE(v && !v->empty()) << tag_to_string(t);
    if (!v || v->empty()) return 0;
    return static_cast<std::size_t>(v->data() - packet.data());
}

// A chain of `offsets.size()` simulated servers, each answering in a batch of 4 at index 2
// (INDX 2, PATH of two hashes).
Report simulated(std::mt19937_64& rng, const std::vector<std::int64_t>& offsets,
                 std::span<const Version> versions = std::vector<Version>{Version::Rfc}) {
    Chain chain;
    UnixNanos now = 1'750'000'000 * kSec;
    for (auto off : offsets) {
        SimServer s(rng, 3 * kSec);
        s.offset_ns = off;
        auto nonce = chain.next_nonce(nonce_size(versions));
        auto req = make_request({versions, nonce, s.long_term.public_key});
        EXPECT_TRUE(req);
        auto resp = s.answer(*req, now, 4, 2, rng, versions);
        EXPECT_TRUE(chain.record(s.long_term.public_key, *req, resp));
        now += kSec / 20;
    }
    return Report{chain.steps()};
}

void flip(Bytes& b, std::size_t at, int bit = 0) { b[at] ^= static_cast<std::byte>(1u << bit); }

}  // namespace

TEST(RoughtimeReport, AppendixBVerifiesWithConflicts) {
    auto report = appendix_b();
    ASSERT_EQ(report.responses.size(), 3u);
    EXPECT_TRUE(report.responses[0].rand.empty());
    EXPECT_EQ(report.responses[1].rand.size(), 32u);
    EXPECT_EQ(report.responses[0].request.size(), 1036u);

    auto v = verify_report(report);
    ASSERT_EQ(v.responses.size(), 3u);
    for (const auto& r : v.responses) {
        EXPECT_TRUE(r.ok()) << r.index << ": " << r.reason();
        EXPECT_EQ(r.reason(), "");
        EXPECT_EQ(r.version, Version::Rfc);
        ASSERT_TRUE(r.time);
        EXPECT_EQ(r.time->radius_ns, 3 * kSec);
    }
    EXPECT_TRUE(v.all_valid());
    ASSERT_EQ(v.conflicts.size(), 2u);
    EXPECT_EQ(v.conflicts[0].earlier, 0u);
    EXPECT_EQ(v.conflicts[0].later, 1u);
    EXPECT_EQ(v.conflicts[1].earlier, 0u);
    EXPECT_EQ(v.conflicts[1].later, 2u);
    for (const auto& c : v.conflicts) {
        EXPECT_TRUE(c.proven);
        EXPECT_EQ(base64_encode(c.earlier_key), "FnDyLV/68ephhLdFJbdEGCdkVvpXDaVe5PYvRDdlOOY=");
        EXPECT_GT(c.excess_ns, 0);
    }
    EXPECT_EQ(base64_encode(v.conflicts[0].later_key), "l9cdSuR8dFxtG9aJo9pWzUXaX8pftNG4UDC45Qk3znc=");
    EXPECT_EQ(base64_encode(v.conflicts[1].later_key), "lRhHag6fn2wZQ6idy10ChgpRgks3gvdMM2hWNeJNgXg=");
    // The bounds, recomputed from the verified times.
    const auto& t = v.responses;
    EXPECT_EQ(v.conflicts[0].excess_ns,
              (t[0].time->midpoint - t[0].time->radius_ns) - (t[1].time->midpoint + t[1].time->radius_ns));
    EXPECT_TRUE(v.proves_malfeasance());
    EXPECT_EQ(describe(v.conflicts[0]).rfind("responses[0] (FnDyLV/68ephhLdFJbdEGCdkVvpXDaVe5PYvRDdlOOY=) is ahead "
                                             "of responses[1] (l9cdSuR8dFxtG9aJo9pWzUXaX8pftNG4UDC45Qk3znc=) by ",
                                             0),
              0u)
        << describe(v.conflicts[0]);
}

TEST(RoughtimeReport, WriteReadRoundTrip) {
    std::string text = read_vector_text(kAppendixB);
    auto report = parse_report(text);
    ASSERT_TRUE(report) << report.error().what;
    // Appendix B's own layout: two-space indent, keys in its order, rand left out of the first.
    std::string written = to_json(*report).dump(2);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    EXPECT_EQ(written, text);
    auto again = parse_report(written);
    ASSERT_TRUE(again);
    ASSERT_EQ(again->responses.size(), report->responses.size());
    for (std::size_t i = 0; i < report->responses.size(); ++i) {
        EXPECT_EQ(again->responses[i].public_key, report->responses[i].public_key);
        EXPECT_EQ(again->responses[i].rand, report->responses[i].rand);
        EXPECT_EQ(again->responses[i].request, report->responses[i].request);
        EXPECT_EQ(again->responses[i].response, report->responses[i].response);
    }
}

TEST(RoughtimeReport, ParseErrors) {
    auto b = Json::parse(read_vector_text(kAppendixB), nullptr, false);
    ASSERT_TRUE(b.is_object());
    auto with = [&](std::size_t i, const char* key, const Json& value) {
        Json j = b;
        if (value.is_discarded()) j["responses"][i].erase(key);
        else j["responses"][i][key] = value;
        return report_error(j.dump());
    };
    const Json kAbsent = Json(Json::value_t::discarded);
    EXPECT_EQ(report_error("{"), "report: byte 2: not valid JSON");
    EXPECT_EQ(report_error("1e999"), "report: not valid JSON (number out of range)");
    EXPECT_EQ(report_error("[]"), "report: not a JSON object");
    EXPECT_EQ(report_error("{}"), "responses: missing");
    EXPECT_EQ(report_error(R"({"responses": {}})"), "responses: not an array");
    EXPECT_EQ(report_error(R"({"responses": []})"), "responses: empty");
    EXPECT_EQ(report_error(R"({"responses": [null]})"), "responses[0]: not an object");
    EXPECT_EQ(with(1, "publicKey", kAbsent), "responses[1].publicKey: missing");
    EXPECT_EQ(with(1, "publicKey", "AAAA"), "responses[1].publicKey: not 32 bytes");
    EXPECT_EQ(with(2, "publicKey", 5), "responses[2].publicKey: not a string");
    EXPECT_EQ(with(2, "rand", "a b"), "responses[2].rand: not base64");
    EXPECT_EQ(with(2, "rand", ""), "responses[2].rand: empty");
    EXPECT_EQ(with(0, "request", kAbsent), "responses[0].request: missing");
    EXPECT_EQ(with(0, "request", ""), "responses[0].request: empty");
    EXPECT_EQ(with(1, "response", "!!"), "responses[1].response: not base64");
    // Well-formed but wrong in meaning: parses, and verify_report says why.
    EXPECT_EQ(with(1, "rand", kAbsent), "no error");
    Json j = b;
    j["responses"][1].erase("rand");
    j["responses"][0]["extra"] = "ignored";
    auto r = parse_report(j.dump());
    ASSERT_TRUE(r) << r.error().what;
    auto v = verify_report(*r);
    EXPECT_EQ(v.responses[1].link_error, LinkError::MissingRand);
    EXPECT_EQ(v.responses[1].reason(), "chain: no rand after the first response");
    EXPECT_FALSE(v.all_valid());
}

TEST(RoughtimeReport, TamperedAppendixB) {
    const auto good = appendix_b();
    ASSERT_EQ(good.responses.size(), 3u);
    struct Case {
        const char* what;
        Tag tag;
        std::optional<Tag> inner;
        VerifyError expect;
    };
    const Case cases[] = {
        {"SIG", tag::SIG, std::nullopt, VerifyError::SrepSignature},
        {"CERT", tag::SIG, tag::CERT, VerifyError::DeleSignature},
        {"CERT.DELE", tag::DELE, tag::CERT, VerifyError::DeleSignature},
        {"NONC", tag::NONC, std::nullopt, VerifyError::Nonce},
        {"MIDP", tag::MIDP, tag::SREP, VerifyError::SrepSignature},
        {"ROOT", tag::ROOT, tag::SREP, VerifyError::SrepSignature},
    };
    for (std::size_t which = 0; which < 3; ++which) {
        for (const auto& c : cases) {
            SCOPED_TRACE(std::string(c.what) + " of response " + std::to_string(which));
            auto report = good;
            auto& resp = report.responses[which].response;
            flip(resp, value_offset(resp, c.tag, c.inner), 3);
            auto v = verify_report(report);
            EXPECT_EQ(v.responses[which].response_error, c.expect) << v.responses[which].reason();
            EXPECT_FALSE(v.responses[which].link_error);
            // The next request was chained to the untampered bytes: its link breaks too.
            if (which + 1 < 3) {
                EXPECT_EQ(v.responses[which + 1].link_error, LinkError::Mismatch);
                EXPECT_FALSE(v.responses[which + 1].response_error);
            }
            for (std::size_t k = 0; k < 3; ++k) {
                if (k != which && k != which + 1) {
                    EXPECT_TRUE(v.responses[k].ok()) << k;
                }
            }
            EXPECT_FALSE(v.all_valid());
            EXPECT_FALSE(v.proves_malfeasance());
        }
    }
    // INDX 0 with an empty PATH: any bit set is beyond the path's depth.
    {
        auto report = good;
        auto& resp = report.responses[1].response;
        flip(resp, value_offset(resp, tag::INDX), 0);
        EXPECT_EQ(verify_report(report).responses[1].response_error, VerifyError::Index);
    }
    // The request as sent is part of the proof: a changed nonce no longer matches.
    {
        auto report = good;
        auto& req = report.responses[2].request;
        flip(req, value_offset(req, tag::NONC), 7);
        auto v = verify_report(report);
        EXPECT_EQ(v.responses[2].response_error, VerifyError::Nonce);
        EXPECT_EQ(v.responses[2].link_error, LinkError::Mismatch);
        EXPECT_EQ(v.responses[2].reason(), "response: nonce; chain: nonce is not H(previous response || rand)");
    }
    // Another server's key.
    {
        auto report = good;
        report.responses[1].public_key = report.responses[2].public_key;
        EXPECT_EQ(verify_report(report).responses[1].response_error, VerifyError::DeleSignature);
    }
}

TEST(RoughtimeReport, BrokenChain) {
    const auto good = appendix_b();
    ASSERT_EQ(good.responses.size(), 3u);
    // A bit of rand.
    {
        auto report = good;
        flip(report.responses[2].rand, 5);
        auto v = verify_report(report);
        EXPECT_TRUE(v.responses[0].ok());
        EXPECT_TRUE(v.responses[1].ok());
        EXPECT_EQ(v.responses[2].link_error, LinkError::Mismatch);
        EXPECT_FALSE(v.responses[2].response_error);
        // (0,1) is still proven; (0,2) rests on the broken link.
        ASSERT_EQ(v.conflicts.size(), 2u);
        EXPECT_TRUE(v.conflicts[0].proven);
        EXPECT_FALSE(v.conflicts[1].proven);
        EXPECT_NE(describe(v.conflicts[1]).find("(not proven: the chain is broken)"), std::string::npos);
        EXPECT_FALSE(v.proves_malfeasance());
    }
    // rand of the wrong size.
    {
        auto report = good;
        report.responses[1].rand.pop_back();
        EXPECT_EQ(verify_report(report).responses[1].link_error, LinkError::RandSize);
    }
    // Entries 1 and 2 swapped: each response still verifies, neither link holds.
    {
        auto report = good;
        std::swap(report.responses[1], report.responses[2]);
        auto v = verify_report(report);
        for (const auto& r : v.responses) EXPECT_FALSE(r.response_error) << r.index;
        EXPECT_EQ(v.responses[1].link_error, LinkError::Mismatch);
        EXPECT_EQ(v.responses[2].link_error, LinkError::Mismatch);
        EXPECT_FALSE(v.proves_malfeasance());
    }
    // Entries 0 and 1 swapped: the new second entry has no rand at all.
    {
        auto report = good;
        std::swap(report.responses[0], report.responses[1]);
        auto v = verify_report(report);
        EXPECT_TRUE(v.responses[0].ok());  // a rand on the first entry is not checked
        EXPECT_EQ(v.responses[1].link_error, LinkError::MissingRand);
        EXPECT_EQ(v.responses[2].link_error, LinkError::Mismatch);
    }
    // Responses (not entries) 0 and 2 swapped: neither matches its request any more.
    {
        auto report = good;
        std::swap(report.responses[0].response, report.responses[2].response);
        auto v = verify_report(report);
        EXPECT_EQ(v.responses[0].response_error, VerifyError::Nonce);
        EXPECT_EQ(v.responses[2].response_error, VerifyError::Nonce);
        EXPECT_EQ(v.responses[1].link_error, LinkError::Mismatch);
        EXPECT_FALSE(v.all_valid());
        EXPECT_TRUE(v.conflicts.empty());  // only response 1 verifies
    }
}

TEST(RoughtimeReport, TamperedPathAndIndex) {
    std::mt19937_64 rng(test_seed("roughtime_report_test"));
    auto report = simulated(rng, {0, 0, 0});
    auto v = verify_report(report);
    ASSERT_TRUE(v.all_valid()) << v.responses[0].reason() << v.responses[1].reason() << v.responses[2].reason();
    EXPECT_TRUE(v.conflicts.empty());
    for (std::size_t which = 0; which < 3; ++which) {
        SCOPED_TRACE(which);
        auto body = *unframe(report.responses[which].response);
        auto msg = parse_message(body);
        ASSERT_TRUE(msg);
        EXPECT_EQ(msg->u32(tag::INDX), 2u);
        EXPECT_EQ(msg->find(tag::PATH)->size(), 64u);

        auto bad = report;
        auto& resp = bad.responses[which].response;
        flip(resp, value_offset(resp, tag::PATH) + 33, 2);  // the second sibling hash
        EXPECT_EQ(verify_report(bad).responses[which].response_error, VerifyError::MerklePath);

        bad = report;
        flip(bad.responses[which].response, value_offset(bad.responses[which].response, tag::INDX), 0);  // 2 -> 3
        EXPECT_EQ(verify_report(bad).responses[which].response_error, VerifyError::MerklePath);

        bad = report;
        flip(bad.responses[which].response, value_offset(bad.responses[which].response, tag::INDX), 2);  // 2 -> 6
        EXPECT_EQ(verify_report(bad).responses[which].response_error, VerifyError::Index);
    }
}

TEST(RoughtimeReport, RandomChainsRoundTripAndVerify) {
    std::mt19937_64 rng(test_seed("roughtime_report_test"));
    const std::vector<Version> offers[] = {{Version::Rfc}, {Version::Draft12}, {Version::Google},
                                           {Version::Draft11, Version::Draft12, Version::Rfc}};
    for (int round = 0; round < 10; ++round) {
        SCOPED_TRACE(round);
        std::size_t n = 1 + rng() % 5;
        std::vector<std::int64_t> offsets(n, 0);
        std::size_t liar = rng() % (n + 1);  // n: nobody lies
        if (liar < n) offsets[liar] = (rng() % 2 ? 1 : -1) * 3600 * kSec;
        const auto& versions = offers[rng() % 4];
        auto report = simulated(rng, offsets, versions);

        auto text = to_json(report).dump(static_cast<int>(rng() % 3) - 1);
        auto back = parse_report(text);
        ASSERT_TRUE(back) << back.error().what;
        ASSERT_EQ(back->responses.size(), n);
        auto v = verify_report(*back);
        ASSERT_TRUE(v.all_valid());
        for (const auto& r : v.responses) EXPECT_EQ(r.version, versions.back());  // the newest offered
        // A liar an hour off conflicts with every honest server on the right side of it.
        std::size_t expected = 0;
        if (liar < n) expected = offsets[liar] > 0 ? n - 1 - liar : liar;
        EXPECT_EQ(v.conflicts.size(), expected);
        for (const auto& c : v.conflicts) {
            EXPECT_TRUE(c.earlier == liar || c.later == liar);
            EXPECT_TRUE(c.proven);
            EXPECT_EQ(c.earlier_key, back->responses[c.earlier].public_key);
        }
        EXPECT_EQ(v.proves_malfeasance(), expected > 0);

        // One random bit anywhere in one response: that entry, or the next link, must fail —
        // unless the bit is in what no signature covers and no verifier reads (an echoed NONC
        // outside SREP, in Google-Roughtime and the drafts; in the last response no link hashes
        // it): then the response must still prove exactly the same time.
        auto bad = *back;
        std::size_t which = rng() % n;
        auto& resp = bad.responses[which].response;
        const int bit = static_cast<int>(rng() % 8);   // drawn in this order since the seeds of record
        const std::size_t at = rng() % resp.size();
        flip(resp, at, bit);
        auto w = verify_report(bad);
        const bool caught = w.responses[which].response_error || (which + 1 < n && w.responses[which + 1].link_error);
        if (!caught) {
            ASSERT_TRUE(w.responses[which].time && v.responses[which].time) << "byte " << at << " bit " << bit;
            EXPECT_EQ(w.responses[which].time->midpoint, v.responses[which].time->midpoint) << "byte " << at;
            EXPECT_EQ(w.responses[which].time->radius_ns, v.responses[which].time->radius_ns) << "byte " << at;
            EXPECT_EQ(which + 1, n) << "an earlier response's bytes are hashed into the next request's nonce";
        }
    }
}
