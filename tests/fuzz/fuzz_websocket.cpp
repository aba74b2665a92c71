// Arbitrary bytes as WebSocket frames from a client, after a valid upgrade, split at an
// input-chosen point. Properties: nothing crashes (ASan: no read past wslay's buffers); when
// neither run closed, the split never changes the text answers (pongs may move: wslay sends
// control frames ahead of queued data) (once one closes, answers queued
// before the bad frame may be missing: wslay sends its close ahead of queued data frames and
// nothing after it); a session that said it is done says nothing more;
// every answer frame is unmasked, FIN, and text (a JSON line) or close or pong, and nothing
// follows a close.
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

const std::string kUpgrade =
    "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

std::vector<std::byte> run(std::span<const std::byte> in, std::size_t cut) {
    WebNtpSession s({}, [] { return ServedTime{true, 1700000000'123456789, {}}; }, 0);
    s.feed(std::as_bytes(std::span(kUpgrade.data(), kUpgrade.size())), 0);
    auto head = s.take_output();
    if (!s.websocket()) std::abort();
    s.feed(in.first(cut), 1);
    auto out = s.take_output();
    const bool done_early = s.done();
    s.feed(in.subspan(cut), 1);
    auto more = s.take_output();
    if (done_early && !more.empty()) std::abort();
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

// Whether the answer holds a close frame; aborts on a malformed answer or a frame after a close.
bool check_frames(const std::vector<std::byte>& out, std::vector<std::string>& texts) {
    std::size_t i = 0;
    bool closed = false;
    auto at = [&](std::size_t k) { return static_cast<unsigned>(out[k]); };
    while (i < out.size()) {
        if (i + 2 > out.size()) std::abort();
        const unsigned op = at(i) & 0x0f;
        if (closed) std::abort();
        closed = op == 8;
        if ((at(i) & 0x80) == 0 || (at(i + 1) & 0x80) != 0) std::abort();  // FIN, unmasked
        if (op != 1 && op != 8 && op != 10) std::abort();
        std::size_t n = at(i + 1) & 0x7f, o = 2;
        if (n == 126) {
            if (i + 4 > out.size()) std::abort();
            n = at(i + 2) << 8 | at(i + 3);
            o = 4;
        } else if (n == 127) {
            std::abort();  // our answers are never that long
        }
        if (i + o + n > out.size()) std::abort();
        if (op == 1) texts.emplace_back(reinterpret_cast<const char*>(out.data() + i + o), n);
        i += o + n;
    }
    return closed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    auto in = std::as_bytes(std::span(data + 1, size - 1));
    const std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
    auto whole = run(in, in.size());
    auto split = run(in, cut);
    std::vector<std::string> texts_whole, texts_split;
    const bool closed_whole = check_frames(whole, texts_whole);
    const bool closed_split = check_frames(split, texts_split);
    // wslay checks a close frame's reason as its bytes arrive, so a bad close frame may be
    // refused in one run and still incomplete in the other: compare runs that stayed open.
    // Pongs go ahead of queued answers in wslay's queue, so only the answers' order is compared.
    if (!closed_whole && !closed_split && texts_whole != texts_split) std::abort();
    return 0;
}
