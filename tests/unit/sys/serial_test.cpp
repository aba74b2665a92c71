// libtime/sys/serial: termios speeds, a pty opened as a serial device comes out raw 8N1 at the
// speed asked, bytes written to the master arrive stamped, errors for missing devices.
#include "libtime/sys/serial.hpp"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <string>
#include <unistd.h>

using namespace timepipe;
using namespace std::chrono_literals;

TEST(SerialSpeed, Mapping) {
    for (long b : {4800L, 9600L, 19200L, 38400L, 57600L, 115200L, 230400L, 921600L}) EXPECT_TRUE(serial_speed_supported(b)) << b;
    for (long b : {0L, 1L, 9601L, 14400L, 100000L, 5000000L}) EXPECT_FALSE(serial_speed_supported(b)) << b;
}

TEST(SerialInput, PtyRawAtSpeed) {
    auto pty = PtyPair::open();
    ASSERT_TRUE(pty) << pty.error().what;
    for (long speed : {4800L, 115200L}) {
        auto in = SerialInput::open(pty->slave_path(), speed);
        ASSERT_TRUE(in) << in.error().what;
        EXPECT_EQ(in->kind(), SerialInput::Kind::terminal);
        auto s = in->settings();
        ASSERT_TRUE(s) << s.error().what;
        EXPECT_EQ(s->speed, speed);
        EXPECT_TRUE(s->raw);
        EXPECT_TRUE(s->eight_n_one);
        EXPECT_FALSE(s->flow_control);
    }
}

TEST(SerialInput, BytesArriveStamped) {
    auto pty = PtyPair::open();
    ASSERT_TRUE(pty) << pty.error().what;
    auto in = SerialInput::open(pty->slave_path(), 9600);
    ASSERT_TRUE(in) << in.error().what;
    std::array<std::byte, 256> buf{};
    auto none = in->read_for(buf, 1ms);
    ASSERT_TRUE(none);
    EXPECT_FALSE(*none);  // nothing written yet
    std::string line = "$GPZDA,120000.00,01,03,2026,00,00*6A\r\n";
    ASSERT_TRUE(pty->write(std::as_bytes(std::span(line.data(), line.size()))));
    std::string got;
    while (got.size() < line.size()) {
        auto r = in->read_for(buf, 5s);
        ASSERT_TRUE(r) << r.error().what;
        ASSERT_TRUE(*r);
        EXPECT_GT((*r)->arrived, 1'600'000'000LL * kNanosPerSecond);
        got.append(static_cast<const char*>(static_cast<const void*>(buf.data())), (*r)->bytes);
    }
    EXPECT_EQ(got, line);  // raw: CR LF untouched, nothing echoed or translated
}

TEST(SerialInput, Errors) {
    auto missing = SerialInput::open("/dev/ttyS-none-such", 9600);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().what, "No such file or directory");
    EXPECT_EQ(missing.error().exit_code, EX_NOINPUT);
    auto dir = SerialInput::open("/", 9600);
    ASSERT_FALSE(dir);
    EXPECT_EQ(dir.error().what, "Is a directory");
    auto pty = PtyPair::open();
    ASSERT_TRUE(pty);
    auto bad_speed = SerialInput::open(pty->slave_path(), 12345);
    ASSERT_FALSE(bad_speed);
    EXPECT_EQ(bad_speed.error().exit_code, EX_USAGE);
}

TEST(SerialInput, RegularFileIsAFile) {
    char path[] = "/tmp/serial_test.XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "$X\r\n", 4), 4);
    ::close(fd);
    auto in = SerialInput::open(path, 9600);
    ASSERT_TRUE(in) << in.error().what;
    EXPECT_EQ(in->kind(), SerialInput::Kind::regular_file);
    std::array<std::byte, 16> buf{};
    auto r = in->read_for(buf, -1ns);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->bytes, 4u);
    r = in->read_for(buf, -1ns);
    ASSERT_TRUE(r && *r);
    EXPECT_EQ((*r)->bytes, 0u);  // the end
    ::unlink(path);
}
