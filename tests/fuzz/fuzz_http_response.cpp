// What a WebNTP server sends webntp-query, as arbitrary bytes. Even first byte: an HTTP response
// through HttpResponseParser, whole and split at an input-chosen point: the split never changes
// the outcome (status, body, leftover, error), and a complete body goes on to parse_json_line.
// Odd first byte: WebSocket frames after an accepted handshake: messages are bounded, errors
// are one line, and nothing crashes or grows without bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "libtime/http/client_http.hpp"
#include "libtime/http/client_websocket.hpp"
#include "libtime/http/webntp_message.hpp"

using namespace timepipe;
using namespace timepipe::http;

namespace {

struct Outcome {
    bool done = false;
    std::string error;
    int status = 0;
    std::string body, leftover;
    bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view in, std::size_t split) {
    HttpResponseParser p;
    Outcome o;
    for (std::string_view part : {in.substr(0, split), in.substr(split)}) {
        auto r = p.feed(part);
        if (!r) { o.error = r.error().what; return o; }
        o.done = *r;
    }
    if (!o.done) {
        auto f = p.finish();
        if (!f) { o.error = f.error().what; return o; }
        o.done = *f;
    }
    o.status = p.status();
    o.body = p.body();
    o.leftover = p.leftover();
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string bytes(data + 1, data + size);
    if (data[0] % 2 == 0) {
        const std::size_t split = bytes.empty() ? 0 : static_cast<std::size_t>(data[0]) % (bytes.size() + 1);
        const Outcome whole = run(bytes, bytes.size());
        const Outcome parts = run(bytes, split);
        if (!(whole == parts)) __builtin_trap();
        if (whole.error.find('\n') != std::string::npos) __builtin_trap();
        if (whole.body.size() > 64 * 1024) __builtin_trap();
        if (whole.done && whole.status == 200) (void)parse_json_line(whole.body);
        return 0;
    }
    auto url = parse_web_url("ws://127.0.0.1:8080/");
    if (!url) __builtin_trap();
    WebSocketClient ws;
    const std::string req = ws.handshake_request(*url);
    const auto at = req.find("Sec-WebSocket-Key: ") + 19;
    const std::string key = req.substr(at, req.find("\r\n", at) - at);
    auto ok = ws.feed_handshake("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Accept: " + expected_websocket_accept(key) + "\r\n\r\n");
    if (!ok || !*ok) __builtin_trap();
    // Fed in three pieces, as a socket might deliver them.
    const std::size_t a = bytes.size() / 3, b = 2 * bytes.size() / 3;
    for (std::string_view part : {std::string_view(bytes).substr(0, a), std::string_view(bytes).substr(a, b - a),
                                  std::string_view(bytes).substr(b)}) {
        auto f = ws.feed(part);
        if (!f) {
            if (f.error().what.find('\n') != std::string::npos) __builtin_trap();
            break;
        }
        for (;;) {
            auto m = ws.next_message();
            if (!m || !*m) break;
            if ((*m)->size() > 64 * 1024) __builtin_trap();
            (void)parse_json_line(**m);
        }
        (void)ws.take_output();
    }
    return 0;
}
