// Roughtime malfeasance reports (RFC 10049 §8.4, "application/roughtime-malfeasance+json"):
// write one from a chain, read one written by anyone, and verify it independently.
//
//   {"responses": [{"publicKey": b64, "request": b64, "response": b64},            // first: no rand
//                  {"publicKey": b64, "rand": b64, "request": b64, "response": b64}, ...]}
//
//   auto text = roughtime::to_json(Report{chain.steps()}).dump(2);
//
//   auto report = roughtime::parse_report(text);           // errors: "responses[1].rand: not base64"
//   auto verdict = roughtime::verify_report(*report);
//   for (const auto& r : verdict.responses) if (!r.ok()) warnx("responses[%zu]: %s", r.index, r.reason().c_str());
//   for (const auto& c : verdict.conflicts) warnx("%s", describe(c).c_str());
//   if (verdict.proves_malfeasance()) ...
//
// Verification trusts nothing in the report: each response must verify against its own request
// and publicKey (roughtime_client's verify_response: signatures, delegation window, Merkle
// proof, nonce echo), and each request after the first must carry H(previous response ‖ rand)
// (§8.2). Responses that verify are then checked pairwise for causality. Pure: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "libtime/base/error.hpp"
#include "libtime/roughtime/chain.hpp"
#include "libtime/roughtime/client.hpp"

namespace timepipe::roughtime {

// The responses in the order received; each entry's rand is empty when absent (only the first
// may omit it, §8.4.1).
struct Report {
    std::vector<ChainStep> responses;
};

// Strict about form (every field base64 where present; publicKey 32 octets; request and
// response present and non-empty; at least one response); what the bytes mean is
// verify_report's business. Unknown keys are ignored. Errors are EX_DATAERR and name the path.
Result<Report> parse_report(std::string_view json_text);
Result<Report> report_from_json(const nlohmann::ordered_json& json);

// The §8.4.1 form, keys in appendix B's order (publicKey, rand, request, response), standard
// base64 with padding; rand left out where empty.
nlohmann::ordered_json to_json(const Report& report);

struct ResponseVerdict {
    std::size_t index = 0;
    crypto::PublicKey public_key{};
    std::optional<VerifyError> response_error;  // the response does not verify
    std::optional<LinkError> link_error;        // the request's nonce is not chained (index > 0)
    // What the response says, when it verifies.
    std::optional<StepTime> time;
    std::optional<Version> version;

    bool ok() const { return !response_error && !link_error; }
    // "" when ok; else "response: SREP signature", "chain: nonce is not H(...)", or both "; "-joined.
    std::string reason() const;
};

// A causal conflict between two verified responses (§8.2).
struct Conflict {
    std::size_t earlier = 0;  // index in the report
    std::size_t later = 0;
    crypto::PublicKey earlier_key{};
    crypto::PublicKey later_key{};
    std::int64_t excess_ns = 0;  // (MIDP_earlier - RADI_earlier) - (MIDP_later + RADI_later)
    // Every response from `earlier` to `later` verifies and is chained to the one before it, so
    // the order, and hence the conflict, is proven.
    bool proven = false;
};

// "responses[0] (FnDyLV/68ephhLdFJbdEGCdkVvpXDaVe5PYvRDdlOOY=) is ahead of responses[1]
// (l9cdSuR8...=) by 807393 s beyond both radii" (+ " (not proven: the chain is broken)").
std::string describe(const Conflict& c);

struct ReportVerdict {
    std::vector<ResponseVerdict> responses;  // one per response, in order
    std::vector<Conflict> conflicts;         // ordered by (earlier, later)

    bool all_valid() const;  // every response verifies and every link holds
    // All valid and at least one conflict: proof that some server sent a wrong time.
    bool proves_malfeasance() const { return all_valid() && !conflicts.empty(); }
};

ReportVerdict verify_report(const Report& report);

}  // namespace timepipe::roughtime
