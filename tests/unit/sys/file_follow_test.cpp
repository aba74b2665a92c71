// identify / read_position / rewind, and InputFile::open_read_nonblocking on a FIFO: what
// UpstreamFeed needs to follow a file by name.
#include "libtime/sys/file_follow.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include "libtime/sys/file.hpp"

using namespace timepipe;

namespace {

struct FileFollowTest : ::testing::Test {
    std::string dir;
    void SetUp() override {
        char tmpl[] = "/tmp/file_follow_test.XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        dir = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
    void write(const std::string& path, const std::string& text) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_GE(fd, 0);
        ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
        ::close(fd);
    }
};

}  // namespace

TEST_F(FileFollowTest, IdentifyTellsFilesApartAndTheirSize) {
    const std::string a = dir + "/a", b = dir + "/b";
    write(a, "hello");
    write(b, "x");
    auto ia = identify(a.c_str()), ib = identify(b.c_str());
    ASSERT_TRUE(ia && ib);
    EXPECT_EQ(ia->kind, FileKind::regular);
    EXPECT_EQ(ia->size, 5);
    EXPECT_FALSE(ia->same_file(*ib));
    std::filesystem::rename(b, a);  // a now names b's file
    auto again = identify(a.c_str());
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->same_file(*ib));
    auto missing = identify(b.c_str());
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().exit_code, EX_NOINPUT);
    EXPECT_EQ(missing.error().what, "No such file or directory");
}

TEST_F(FileFollowTest, PositionAndRewind) {
    const std::string a = dir + "/a";
    write(a, "hello");
    auto f = InputFile::open_read(a.c_str());
    ASSERT_TRUE(f);
    std::array<std::byte, 3> buf{};
    ASSERT_EQ(f->read_some(buf).value_or(0), 3u);
    EXPECT_EQ(read_position(f->fd()).value_or(-1), 3);
    auto id = identify(f->fd());
    ASSERT_TRUE(id);
    EXPECT_EQ(id->size, 5);
    ASSERT_TRUE(rewind(f->fd()));
    EXPECT_EQ(read_position(f->fd()).value_or(-1), 0);
}

TEST_F(FileFollowTest, AFifoOpensWithoutAWriter) {
    const std::string p = dir + "/fifo";
    ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
    auto id = identify(p.c_str());
    ASSERT_TRUE(id);
    EXPECT_EQ(id->kind, FileKind::fifo);
    auto f = InputFile::open_read_nonblocking(p.c_str());  // open_read would wait for a writer
    ASSERT_TRUE(f);
    std::array<std::byte, 8> buf{};
    EXPECT_EQ(f->read_some(buf).value_or(99), 0u);  // no writer yet: nothing, at once
}
