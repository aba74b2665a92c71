// libFuzzer target for Roughtime malfeasance reports (RFC 10049 §8.4.1): parsing never crashes
// and fails with EX_DATAERR and a reason; a report that parses writes back and reads again to
// the same entries; verification never crashes, and what it concludes is consistent (conflicts
// only between responses that verified, malfeasance only when everything verified).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "libtime/roughtime/report.hpp"

using namespace timepipe::roughtime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(static_cast<const char*>(static_cast<const void*>(data)), size);
    auto report = parse_report(text);
    if (!report) {
        if (report.error().what.empty() || report.error().exit_code != EX_DATAERR) std::abort();
        return 0;
    }
    auto again = parse_report(to_json(*report).dump());
    if (!again || again->responses.size() != report->responses.size()) std::abort();
    for (std::size_t i = 0; i < report->responses.size(); ++i) {
        const auto& a = report->responses[i];
        const auto& b = again->responses[i];
        if (a.public_key != b.public_key || a.rand != b.rand || a.request != b.request || a.response != b.response)
            std::abort();
    }
    auto verdict = verify_report(*report);
    if (verdict.responses.size() != report->responses.size()) std::abort();
    for (const auto& c : verdict.conflicts) {
        if (c.earlier >= c.later || c.later >= verdict.responses.size()) std::abort();
        if (!verdict.responses[c.earlier].time || !verdict.responses[c.later].time || c.excess_ns <= 0) std::abort();
        if (describe(c).empty()) std::abort();
    }
    for (const auto& r : verdict.responses)
        if (r.ok() != r.reason().empty() || (r.time.has_value() == r.response_error.has_value())) std::abort();
    if (verdict.proves_malfeasance() && !verdict.all_valid()) std::abort();
    return 0;
}
