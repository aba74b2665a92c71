// The driftfile's write: libtime/sys/file's write_file_atomic (a temporary renamed over the file).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <unistd.h>

#include "libtime/discipline/driftfile.hpp"
#include "libtime/sys/file.hpp"

namespace timepipe {
namespace {

TEST(WriteFileAtomic, ReplacesWholeAndLeavesNoTemporary) {
    char dir[] = "/tmp/timepipe-drift-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/drift";
    ASSERT_TRUE(write_file_atomic(path.c_str(), discipline::format_driftfile({1.5, 0.25})));
    ASSERT_TRUE(write_file_atomic(path.c_str(), discipline::format_driftfile({-2.5, 0.125})));
    auto text = read_file(path.c_str());
    ASSERT_TRUE(text);
    EXPECT_EQ(*text, "-2.500000 0.125000\n");
    EXPECT_FALSE(read_file((path + ".tmp").c_str()));
    auto bad = write_file_atomic((std::string(dir) + "/missing/drift").c_str(), "x");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().what.find("No such file or directory"), std::string::npos) << bad.error().what;
    EXPECT_EQ(bad.error().exit_code, EX_IOERR);
    ::unlink(path.c_str());
    ::rmdir(dir);
}

}  // namespace
}  // namespace timepipe
