// Arbitrary bytes as what a client sends to an HTTP/1.1 server (libtime/http/server_session, the
// piece under webntp-serve and time-metrics), with a trivial handler (GET, HEAD, POST echo sizes;
// an upgrade hook that takes "Upgrade: x"), split in two at an input-chosen point. Properties:
// nothing crashes; the split never changes the bytes answered nor the bytes handed on after an
// upgrade; output stays bounded by the input (one reply per request, each bounded); once done()
// nothing more is answered.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "libtime/http/server_session.hpp"

using namespace timepipe;
using namespace timepipe::http;

namespace {

Response handle(const Request& r) {
    if (r.path() == "/404") return Response::error(404, "not here: " + r.target);
    Response out = Response::text(200, r.method + " " + std::to_string(r.target.size()) + " " +
                                           std::to_string(r.headers.size()) + " " + std::to_string(r.body.size()) + "\n");
    out.close = r.path() == "/close";
    return out;
}

std::optional<Response> upgrade(const Request& r) {
    if (r.header("upgrade") != "x") return std::nullopt;
    return Response{101, {{"Upgrade", "x"}, {"Connection", "Upgrade"}}, {}, false};
}

struct Run {
    std::vector<std::byte> out, after_upgrade;
};

Run run(std::span<const std::byte> in, std::size_t cut, unsigned rate) {
    ServerConfig config;
    config.max_header_bytes = 512;
    config.max_body_bytes = 256;
    config.max_rate = rate;
    config.methods = {"GET", "HEAD", "POST"};
    ServerSession s(config, handle, 0, upgrade);
    Run r;
    for (auto part : {in.first(cut), in.subspan(cut)}) {
        const bool done_before = s.done();
        if (s.upgraded()) r.after_upgrade.insert(r.after_upgrade.end(), part.begin(), part.end());
        else s.feed(part, 1);
        auto o = s.take_output();
        if (done_before && !o.empty()) std::abort();  // done means nothing more is said
        r.out.insert(r.out.end(), o.begin(), o.end());
        auto rest = s.take_leftover();
        if (!s.upgraded() && !rest.empty()) std::abort();
        r.after_upgrade.insert(r.after_upgrade.end(), rest.begin(), rest.end());
    }
    (void)s.expired(3 * 60 * kNanosPerSecond);
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    auto in = std::as_bytes(std::span(data + 1, size - 1));
    const std::size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
    const unsigned rate = 1 + (data[0] >> 4);
    const Run whole = run(in, in.size(), rate);
    const Run split = run(in, cut, rate);
    if (whole.out != split.out || whole.after_upgrade != split.after_upgrade) std::abort();
    // A request is at least "GET / HTTP/1.1\r\n\r\n"-like, 16 bytes or more (a bare "\n" line
    // ends a request in llhttp's lenient reading, so count generously); each reply is bounded:
    // a 404 echoes a target of at most 512 bytes.
    if (whole.out.size() > 1024 + 64 * in.size()) std::abort();
    return 0;
}
