#include "tools/ntp-query/output.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "libtime/stream/json_lines.hpp"
#include "libtime/base/log.hpp"
#include "libtime/ntp/select.hpp"
#include "libtime/stream/sample_table.hpp"
#include "libtime/stream/codec.hpp"

namespace ntp_query {

using namespace timepipe;

namespace {

void put(const std::string& bytes) {
    if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size() || std::fflush(stdout) != 0)
        log::fatal(EX_IOERR, "stdout");
}

ntp::SelectCandidate candidate(const Sample& s) {
    ntp::SelectCandidate c;
    c.offset = s.offset;
    c.delay = s.delay;
    c.dispersion = s.dispersion;
    c.jitter = s.jitter.value_or(0.0);
    c.root_delay = s.root_delay.value_or(0.0);
    c.root_dispersion = s.root_dispersion.value_or(0.0);
    c.stratum = s.stratum;
    return c;
}

}  // namespace

void Writer::sample(const Sample& s, char tally) {
    const Record r = to_record(s);
    switch (format_) {
    case OutputFormat::json:
        put(to_json_line(r));
        break;
    case OutputFormat::cbor: {
        std::vector<std::byte> bytes;
        if (auto ok = encode_record(r, bytes); !ok) log::fatalx(EX_SOFTWARE, "record: %s", ok.error().what.c_str());
        std::string out;
        out.reserve(bytes.size());
        for (std::byte b : bytes) out += static_cast<char>(b);
        put(out);
        break;
    }
    case OutputFormat::text: {
        const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
        std::string out;
        if (!header_done_) out = sample_table_header();
        header_done_ = true;
        put(out + sample_table_row(s, now, tally));
        break;
    }
    }
}

std::vector<char> tally_codes(const std::vector<std::optional<Sample>>& best, std::string* why) {
    std::vector<char> codes(best.size(), ' ');
    std::vector<ntp::SelectCandidate> candidates;
    std::vector<std::size_t> index;  // candidate -> source
    const ntp::SelectConfig config;
    for (std::size_t i = 0; i < best.size(); ++i) {
        if (!best[i]) continue;
        ntp::SelectCandidate c = candidate(*best[i]);
        // Not fit (RFC 5905 A.5.5.3): takes no part, stays ' ' as in ntpq.
        if (!(ntp::root_distance(c) <= config.max_distance) || c.stratum > config.max_stratum) continue;
        candidates.push_back(c);
        index.push_back(i);
    }
    if (candidates.empty()) return codes;
    auto sel = ntp::select_sources(candidates, config);
    if (!sel) {
        if (why) *why = std::string(to_string(sel.error()));
        for (std::size_t i : index) codes[i] = 'x';
        return codes;
    }
    for (std::size_t k = 0; k < candidates.size(); ++k) {
        const auto in = [k](const std::vector<std::size_t>& v) { return std::find(v.begin(), v.end(), k) != v.end(); };
        char c = 'x';
        if (k == sel->system_peer) c = '*';
        else if (in(sel->survivors)) c = '+';
        else if (in(sel->truechimers)) c = '-';
        codes[index[k]] = c;
    }
    return codes;
}

}  // namespace ntp_query
