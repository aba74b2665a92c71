// A simulated PPS device: what each PPS_FETCH returns, read line by line from a file or pipe,
// behind the same PpsDevice interface as a real /dev/ppsN (pps.hpp). pps-capture --device
// sim:FILE uses it, so tests drive the tool's sequence and pairing logic without hardware.
// Only fetch() and the capabilities are simulated: PPS_GETPARAMS/SETPARAMS have no meaning here.
//
// The format (pps-capture(1), FILES), one item per line, '#' starts a comment:
//   caps assert,clear,canwait,tspec        optional, before the first edge: PPS_GETCAP's bits
//   12 1700000012.000001234 11 1700000011.200000000
//                                          one PPS_FETCH: assert sequence and time, clear
//                                          sequence and time (s.fraction, up to 9 digits)
//   timeout                                one PPS_FETCH that timed out: fetch() sleeps for
//                                          its timeout, then gives nullopt
// Edges are there at once: a simulated fetch never waits for one (a pipe's fetch waits for its line).
//
//   auto dev = open_simulated_pps("edges.txt");       // Result<std::unique_ptr<PpsDevice>>
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/sys/pps.hpp"

namespace timepipe {

struct PpsSimLine {
    enum class Kind { blank, caps, fetch, timeout };
    Kind kind = Kind::blank;
    int caps = 0;        // Kind::caps
    PpsFetch fetch;      // Kind::fetch

    friend bool operator==(const PpsSimLine&, const PpsSimLine&) = default;
};

// Without a "caps" line a simulated device can do what a typical GPIO or serial PPS source does.
inline constexpr int kPpsSimDefaultCaps =
    pps_mode::kCaptureAssert | pps_mode::kCaptureClear | pps_mode::kCanWait | pps_mode::kTsfmtTspec;

// One line without its newline. Errors (EX_DATAERR) say what is wrong, e.g.
// "bad assert time \"17x\": not seconds.fraction".
Result<PpsSimLine> parse_pps_sim_line(std::string_view line);
// The line parse_pps_sim_line reads back as `line` (blank: "").
std::string format_pps_sim_line(const PpsSimLine& line);

// Reads FILE as it is fetched (a pipe works: each fetch waits for its line). A bad line is an
// EX_DATAERR error "line N: why"; past the last line ended() is true and fetch() gives nullopt.
Result<std::unique_ptr<PpsDevice>> open_simulated_pps(const std::string& path);

}  // namespace timepipe
