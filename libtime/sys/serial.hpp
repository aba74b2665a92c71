// A GPS receiver's serial line, or whatever stands in for it (a pty, a FIFO, a file, stdin), read
// with the local time each burst of bytes arrived; and pseudo-terminals for tests.
//
//   auto in = SerialInput::open("/dev/ttyS0", 9600);   // "-" is stdin; speed 0 leaves it as is
//   if (!in) log::fatalx(in.error().exit_code, "/dev/ttyS0: %s", in.error().what.c_str());
//   std::array<std::byte, 4096> buf;
//   auto r = in->read_for(buf, 200ms);    // nullopt: nothing came in time (or a signal)
//   if (r && *r) use(buf.first(r->value().bytes), r->value().arrived);   // bytes 0: end of input
//
// A terminal is set raw, 8N1, no flow control, CLOCAL (modem lines ignored), VMIN 1 / VTIME 0
// so that read() returns as soon as bytes arrive.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/base/unix_time.hpp"

namespace timepipe {

// The speeds termios names (50 .. 4000000 baud); false for any other number.
bool serial_speed_supported(long baud);

// What a terminal's settings are, to check what open() did.
struct SerialSettings {
    long speed = 0;            // baud, input and output alike (-1 if they differ)
    bool raw = false;          // no ICANON, ECHO, ISIG, IEXTEN, OPOST, input translation
    bool eight_n_one = false;  // CS8, no PARENB, no CSTOPB
    bool flow_control = false; // CRTSCTS or IXON/IXOFF
};

class SerialInput {
public:
    enum class Kind { terminal, stream, regular_file };  // stream: pipe, FIFO, socket, char device
    struct Chunk {
        std::size_t bytes = 0;   // 0 at end of input
        UnixNanos arrived = 0;   // CLOCK_REALTIME when poll() said bytes were there
    };

    // Errors name the cause as strerror does: EX_NOINPUT for a missing or unreadable device,
    // EX_USAGE for a speed termios does not know, EX_IOERR when tcsetattr fails.
    static Result<SerialInput> open(const std::string& path, long speed);

    SerialInput(SerialInput&& other) noexcept;
    SerialInput& operator=(SerialInput&& other) noexcept;
    SerialInput(const SerialInput&) = delete;
    SerialInput& operator=(const SerialInput&) = delete;
    ~SerialInput();

    Kind kind() const { return kind_; }
    // Waits up to `timeout` (negative: for ever) for bytes, then reads what is there. nullopt
    // when nothing came or a signal interrupted the wait. EX_IOERR with strerror's text.
    Result<std::optional<Chunk>> read_for(std::span<std::byte> into, std::chrono::nanoseconds timeout);
    // A terminal's settings (EX_IOERR for anything else).
    Result<SerialSettings> settings() const;

private:
    SerialInput(int fd, bool owned, Kind kind) : fd_(fd), owned_(owned), kind_(kind) {}
    int fd_ = -1;
    bool owned_ = false;
    Kind kind_ = Kind::stream;
    bool hung_up_ = false;
};

// A pseudo-terminal pair (posix_openpt): what is written to the master arrives at the slave,
// which a reader opens by path like a serial device.
class PtyPair {
public:
    static Result<PtyPair> open();
    PtyPair(PtyPair&& other) noexcept;
    PtyPair& operator=(PtyPair&& other) noexcept;
    PtyPair(const PtyPair&) = delete;
    PtyPair& operator=(const PtyPair&) = delete;
    ~PtyPair();

    const std::string& slave_path() const { return slave_path_; }
    // Writes all of `bytes` to the master (EX_IOERR).
    Result<void> write(std::span<const std::byte> bytes);

private:
    PtyPair(int master, int slave, std::string path) : master_(master), slave_(slave), slave_path_(std::move(path)) {}
    int master_ = -1;
    int slave_ = -1;  // kept open so the pair survives a reader closing its end
    std::string slave_path_;
};

}  // namespace timepipe
