// libtime/stream/record_writer: what each -o format writes, through stdout redirected to a file.
#include "libtime/stream/record_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "libtime/stream/records.hpp"
#include "libtime/sys/file.hpp"
#include "tests/unit/stream/sample_fixtures.hpp"

using namespace timepipe;

namespace {

// Runs `body` with stdout going to a temporary file, returns what it wrote.
template <class F>
std::string captured(F body) {
    char path[] = "/tmp/record_writer_test.XXXXXX";
    std::FILE* tmp = ::fdopen(::mkstemp(path), "w+");
    EXPECT_TRUE(tmp);
    std::fflush(stdout);
    std::FILE* saved = stdout;
    stdout = tmp;
    body();
    stdout = saved;
    std::fclose(tmp);
    auto text = read_file(path);
    std::remove(path);
    return text ? *text : "";
}

}  // namespace

TEST(RecordWriter, EachFormatWritesWhatItsReaderTakesBackOnlyAtFlush) {
    const Record r = to_record(test::full_sample());
    auto cbor = captured([&] {
        RecordWriter w(OutputFormat::cbor);
        w.write(r, UnixNanos{0});
        w.flush();
    });
    auto back = decode_records(std::span(reinterpret_cast<const std::byte*>(cbor.data()), cbor.size()));
    ASSERT_TRUE(back) << back.error().what;
    ASSERT_EQ(back->size(), 1u);
    EXPECT_EQ((*back)[0], r);

    auto json = captured([&] {
        RecordWriter w(OutputFormat::json);
        w.write(r, UnixNanos{0});
        w.write(r, "ignored in json\n");
        w.flush();
    });
    EXPECT_EQ(std::count(json.begin(), json.end(), '\n'), 2);
    EXPECT_EQ(json.find("ignored"), std::string::npos);
    EXPECT_EQ(json.rfind("{\"v\":1,\"type\":\"sample\"", 0), 0u);

    auto text = captured([&] {
        RecordWriter w(OutputFormat::text);
        w.write(r, "own words\n");
        w.flush();
    });
    EXPECT_EQ(text, "own words\n");

    auto nothing = captured([&] {
        RecordWriter w(OutputFormat::json);
        w.write(r, UnixNanos{0});   // never flushed: nothing reaches stdout
    });
    EXPECT_EQ(nothing, "");
}
