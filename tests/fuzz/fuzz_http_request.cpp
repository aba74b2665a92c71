// Arbitrary bytes as what a client sends to webntp-serve, before any upgrade: split in two at an
// input-chosen point, fed to the HTTP request handler (llhttp + the answers). Properties: nothing
// crashes, the split never changes the bytes answered, output stays bounded by the input (no
// amplification beyond one reply per request), and once done() nothing more is answered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "libtime/http/webntp_session.hpp"

using namespace timepipe;
using namespace timepipe::http;

namespace {

std::vector<std::byte> run(std::span<const std::byte> in, std::size_t cut, bool cors) {
    SessionConfig config;
    config.allow_cross_origin = cors;
    WebNtpSession s(config, [] { return ServedTime{true, 1700000000'123456789, {36, 1483228800 * kNanosPerSecond, 1}}; }, 0);
    s.feed(in.first(cut), 1);
    auto out = s.take_output();
    const bool done_early = s.done();
    s.feed(in.subspan(cut), 2);
    auto more = s.take_output();
    if (done_early && !more.empty()) std::abort();  // done means nothing more is said
    out.insert(out.end(), more.begin(), more.end());
    (void)s.expired(3 * 60 * kNanosPerSecond);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const bool cors = data[0] & 1;
    auto in = std::as_bytes(std::span(data + 1, size - 1));
    const std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
    auto whole = run(in, in.size(), cors);
    auto split = run(in, cut, cors);
    // A WebSocket frame may be answered differently when its upgrade arrives split (it is the
    // same session either way, but wslay's close may differ in timing): compare HTTP only.
    const std::string w(reinterpret_cast<const char*>(whole.data()), whole.size());
    if (w.find("101 Switching Protocols") == std::string::npos && whole != split) std::abort();
    // Each answer needs at least one request line ("GET / HTTP/1.1\r\n\r\n" is 18 bytes): 400 bytes
    // of reply per 16 bytes of input is a generous bound.
    if (whole.size() > 512 + 32 * in.size()) std::abort();
    return 0;
}
