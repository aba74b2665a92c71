// libtime/sys/pps and pps_sim: what runs without PPS hardware. Capability decoding and checks,
// the mode to set; opening a missing device (EX_NOINPUT, strerror's text) and a file that is no
// PPS device; the simulated device's line format (vectors, errors, round trip) and its fetches.
#include "libtime/sys/pps.hpp"
#include "libtime/sys/pps_sim.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <unistd.h>

#include "tests/unit/sys/sys_support.hpp"

using namespace timepipe;
namespace m = timepipe::pps_mode;

namespace {

using timepipe::test::temp_file;

}  // namespace

TEST(PpsCaps, Describe) {
    EXPECT_EQ(describe_pps_mode(0), "none");
    EXPECT_EQ(describe_pps_mode(0x1133), "assert,clear,offsetassert,offsetclear,canwait,tspec");
    EXPECT_EQ(describe_pps_mode(m::kCaptureAssert | 0x4000), "assert,0x4000");
}

TEST(PpsCaps, CheckNamesWhatIsMissing) {
    const int gpio = m::kCaptureAssert | m::kCaptureClear | m::kCanWait | m::kTsfmtTspec;
    EXPECT_TRUE(check_pps_capabilities(gpio, PpsEdge::assert));
    EXPECT_TRUE(check_pps_capabilities(gpio, PpsEdge::clear));
    auto r = check_pps_capabilities(m::kCaptureAssert | m::kCanWait | m::kTsfmtTspec, PpsEdge::clear);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "cannot capture the clear edge (assert,canwait,tspec)");
    EXPECT_EQ(r.error().exit_code, EX_UNAVAILABLE);
    r = check_pps_capabilities(m::kCaptureAssert | m::kTsfmtTspec, PpsEdge::assert);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "cannot wait for an edge (assert,tspec)");
    r = check_pps_capabilities(m::kCaptureAssert | m::kCanWait | m::kTsfmtNtpfp, PpsEdge::assert);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().what, "gives no timespec timestamps (assert,canwait,ntpfp)");
}

TEST(PpsCaps, ModeToSet) {
    // Already capturing assert with timespec timestamps: nothing to set.
    EXPECT_EQ(pps_mode_for(m::kCaptureAssert | m::kCanWait | m::kTsfmtTspec, PpsEdge::assert), std::nullopt);
    // Clear wanted: added, assert kept for whoever else reads it.
    EXPECT_EQ(pps_mode_for(m::kCaptureAssert | m::kTsfmtTspec, PpsEdge::clear),
              m::kCaptureAssert | m::kCaptureClear | m::kTsfmtTspec);
    // NTP-format timestamps swapped for timespec.
    EXPECT_EQ(pps_mode_for(m::kCaptureAssert | m::kTsfmtNtpfp, PpsEdge::assert), m::kCaptureAssert | m::kTsfmtTspec);
}

TEST(PpsDevice, MissingDeviceIsNoInput) {
    auto d = open_pps_device("/dev/pps-timepipe-missing");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().what, "No such file or directory");
    EXPECT_EQ(d.error().exit_code, EX_NOINPUT);
}

TEST(PpsDevice, AFileIsNoPpsDevice) {
    auto path = temp_file("not a device\n");
    auto d = open_pps_device(path);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().what, "not a PPS device: PPS_GETCAP: Inappropriate ioctl for device");
    EXPECT_EQ(d.error().exit_code, EX_UNAVAILABLE);
    ::unlink(path.c_str());
}

TEST(PpsSim, Lines) {
    auto l = parse_pps_sim_line("12 1700000012.000001234 11 1700000011.2  # jitter");
    ASSERT_TRUE(l) << l.error().what;
    EXPECT_EQ(l->kind, PpsSimLine::Kind::fetch);
    EXPECT_EQ(l->fetch, (PpsFetch{12, 1'700'000'012'000'001'234, 11, 1'700'000'011'200'000'000}));
    l = parse_pps_sim_line("0 0 0 0");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->fetch, PpsFetch{});
    l = parse_pps_sim_line("  timeout\r");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->kind, PpsSimLine::Kind::timeout);
    l = parse_pps_sim_line("caps assert,canwait,tspec");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->kind, PpsSimLine::Kind::caps);
    EXPECT_EQ(l->caps, m::kCaptureAssert | m::kCanWait | m::kTsfmtTspec);
    l = parse_pps_sim_line("   # only a comment");
    ASSERT_TRUE(l);
    EXPECT_EQ(l->kind, PpsSimLine::Kind::blank);
}

TEST(PpsSim, BadLines) {
    auto what = [](std::string_view line) {
        auto l = parse_pps_sim_line(line);
        EXPECT_FALSE(l) << line;
        if (l) return std::string();
        EXPECT_EQ(l.error().exit_code, EX_DATAERR);
        return l.error().what;
    };
    EXPECT_EQ(what("1 2 3"), "expected ASSERT_SEQ ASSERT_TIME CLEAR_SEQ CLEAR_TIME, \"timeout\" or \"caps\"");
    EXPECT_EQ(what("-1 1.0 0 0"), "bad assert sequence \"-1\": not an integer from 0 to 4294967295");
    EXPECT_EQ(what("4294967296 1.0 0 0"), "bad assert sequence \"4294967296\": not an integer from 0 to 4294967295");
    EXPECT_EQ(what("1 17x 0 0"), "bad assert time \"17x\": not seconds.fraction");
    EXPECT_EQ(what("1 1.0123456789 0 0"), "bad assert time \"1.0123456789\": not seconds.fraction");
    EXPECT_EQ(what("1 -1.5 0 0"), "bad assert time \"-1.5\": not seconds.fraction");
    EXPECT_EQ(what("1 99999999999999999999.0 0 0"), "bad assert time \"99999999999999999999.0\": not seconds.fraction");
    EXPECT_EQ(what("1 1. 0 0"), "bad assert time \"1.\": not seconds.fraction");
    EXPECT_EQ(what("1 1 x 0"), "bad clear sequence \"x\": not an integer from 0 to 4294967295");
    EXPECT_EQ(what("1 1 0 .5"), "bad clear time \".5\": not seconds.fraction");
    EXPECT_EQ(what("timeout now"), "\"timeout\" takes nothing after it");
    EXPECT_EQ(what("caps assert,bogus"), "bad caps \"assert,bogus\": not names from assert, clear, offsetassert, "
                                         "offsetclear, echoassert, echoclear, canwait, canpoll, tspec, ntpfp");
    EXPECT_EQ(what("caps assert,"), "bad caps \"assert,\": not names from assert, clear, offsetassert, "
                                    "offsetclear, echoassert, echoclear, canwait, canpoll, tspec, ntpfp");
}

TEST(PpsSim, FormatRoundTrips) {
    for (const char* line : {"12 1700000012.000001234 11 1700000011.200000000", "timeout", "caps assert,canwait,tspec",
                             "0 0.000000000 0 0.000000000", "4294967295 9223372035.999999999 1 0.000000001"}) {
        auto l = parse_pps_sim_line(line);
        ASSERT_TRUE(l) << line << ": " << l.error().what;
        EXPECT_EQ(format_pps_sim_line(*l), line);
    }
}

TEST(PpsSim, DeviceFetchesInOrder) {
    auto path = temp_file("# edges\ncaps assert,canwait,tspec\n\n1 10.5 0 0\ntimeout\n2 11.5 0 0");
    auto d = open_simulated_pps(path);
    ASSERT_TRUE(d) << d.error().what;
    EXPECT_EQ(*(*d)->capabilities(), m::kCaptureAssert | m::kCanWait | m::kTsfmtTspec);
    EXPECT_TRUE((*d)->enable(PpsEdge::assert));
    auto clear = (*d)->enable(PpsEdge::clear);
    ASSERT_FALSE(clear);
    EXPECT_EQ(clear.error().what, "cannot capture the clear edge (assert,canwait,tspec)");
    auto f = (*d)->fetch(std::chrono::nanoseconds(0));
    ASSERT_TRUE(f && *f);
    EXPECT_EQ(**f, (PpsFetch{1, 10'500'000'000, 0, 0}));
    f = (*d)->fetch(std::chrono::nanoseconds(0));   // the timeout
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
    EXPECT_FALSE((*d)->ended());
    f = (*d)->fetch(std::chrono::nanoseconds(0));   // last line, no newline
    ASSERT_TRUE(f && *f);
    EXPECT_EQ((*f)->assert_sequence, 2u);
    f = (*d)->fetch(std::chrono::nanoseconds(0));
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f);
    EXPECT_TRUE((*d)->ended());
    ::unlink(path.c_str());
}

TEST(PpsSim, DeviceErrorsNameTheLine) {
    auto path = temp_file("1 10.5 0 0\n\ncaps assert\n");
    auto d = open_simulated_pps(path);
    ASSERT_TRUE(d) << d.error().what;
    EXPECT_EQ(*(*d)->capabilities(), kPpsSimDefaultCaps);
    EXPECT_TRUE(*(*d)->fetch(std::chrono::nanoseconds(0)));
    auto f = (*d)->fetch(std::chrono::nanoseconds(0));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().what, "line 3: caps only before the first edge");
    EXPECT_EQ(f.error().exit_code, EX_DATAERR);
    ::unlink(path.c_str());

    path = temp_file("1 10.5 0 0\n2 x 0 0\n");
    d = open_simulated_pps(path);
    ASSERT_TRUE(d);
    EXPECT_TRUE(*(*d)->fetch(std::chrono::nanoseconds(0)));
    f = (*d)->fetch(std::chrono::nanoseconds(0));
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().what, "line 2: bad assert time \"x\": not seconds.fraction");
    ::unlink(path.c_str());

    path = temp_file(std::string(2000, '1'));
    d = open_simulated_pps(path);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().what, "line 1: longer than 1024 bytes");

    auto missing = open_simulated_pps("/nonexistent/edges");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(missing.error().what, "No such file or directory");
    ::unlink(path.c_str());
}
