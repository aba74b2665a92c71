// libtime/sys_file: opening (missing, unreadable), reading in chunks to the end, a directory's
// read error, moves that leave one owner, and standard input left open.
#include "libtime/sys/file.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include "tests/unit/sys/sys_support.hpp"

using namespace timepipe;

namespace {

using timepipe::test::temp_file;

// What is left of `f`, read `chunk` bytes at a time.
std::string read_in_chunks(InputFile& f, std::size_t chunk) {
    std::string out;
    std::array<std::byte, 64> buf{};
    for (;;) {
        auto n = f.read_some(std::span(buf).first(chunk));
        EXPECT_TRUE(n.has_value()) << (n ? "" : n.error().what);
        if (!n || *n == 0) return out;
        for (std::size_t i = 0; i < *n; ++i) out += static_cast<char>(buf[i]);
    }
}

}  // namespace

TEST(InputFile, MissingIsNoInput) {
    auto f = InputFile::open_read("/nonexistent/timepipe-sys-file-test");
    ASSERT_FALSE(f);
    EXPECT_EQ(f.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(f.error().what, "No such file or directory");
}

TEST(InputFile, ReadsToTheEndInChunks) {
    const std::string path = temp_file("0123456789abcdefghij");
    for (std::size_t chunk : {1u, 3u, 64u}) {
        auto f = InputFile::open_read(path.c_str());
        ASSERT_TRUE(f) << f.error().what;
        EXPECT_EQ(read_in_chunks(*f, chunk), "0123456789abcdefghij") << chunk;
    }
    std::remove(path.c_str());
}

TEST(InputFile, DirectoryFailsOnReadWithIoErr) {
    auto f = InputFile::open_read("/");
    ASSERT_TRUE(f) << f.error().what;  // open(2) allows O_RDONLY on a directory
    std::array<std::byte, 8> buf{};
    auto n = f->read_some(buf);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().exit_code, EX_IOERR);
    EXPECT_EQ(n.error().what, "Is a directory");
}

TEST(InputFile, MoveKeepsOneOwnerAndClosesOnce) {
    const std::string path = temp_file("x");
    int fd = -1;
    {
        auto f = InputFile::open_read(path.c_str());
        ASSERT_TRUE(f);
        fd = f->fd();
        InputFile g = std::move(*f);
        EXPECT_EQ(f->fd(), -1);
        EXPECT_EQ(g.fd(), fd);
        EXPECT_NE(::fcntl(fd, F_GETFD), -1);  // still open
    }
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed with its last owner
    std::remove(path.c_str());
}

TEST(InputFile, StandardInputStaysOpen) {
    { auto in = InputFile::standard_input(); EXPECT_EQ(in.fd(), STDIN_FILENO); }
    EXPECT_NE(::fcntl(STDIN_FILENO, F_GETFD), -1);
}
