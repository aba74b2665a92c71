// The client side of a WebNTP WebSocket (RFC 6455) over bytes: the upgrade request and its check
// (status 101, Upgrade, Sec-WebSocket-Accept, the subprotocol if the server names one), then
// frames through wslay: our frames masked, the server's unmasked, pings answered.
//
//   WebSocketClient ws;
//   send(ws.handshake_request(url));
//   while (!*ws.feed_handshake(bytes_from_socket)) ...
//   send(*ws.message("1700000000.123457"));
//   while (!(m = ws.next_message()) ...) { ws.feed(bytes_from_socket); send(ws.take_output()); }
//
// Errors are one line, EX_PROTOCOL: "WebSocket handshake: Sec-WebSocket-Accept does not match".
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "libtime/base/error.hpp"
#include "libtime/http/client_http.hpp"

namespace timepipe::http {

class WebSocketClient {
public:
    WebSocketClient();
    ~WebSocketClient();
    WebSocketClient(const WebSocketClient&) = delete;
    WebSocketClient& operator=(const WebSocketClient&) = delete;

    // The GET with Upgrade, with a fresh random Sec-WebSocket-Key.
    std::string handshake_request(const WebUrl& url);
    // The server's answer, in pieces: true once it is complete and accepted.
    Result<bool> feed_handshake(std::string_view bytes);

    // A text message, as frame bytes to send.
    Result<std::string> message(std::string_view text);
    // Bytes from the server after the handshake.
    Result<void> feed(std::string_view bytes);
    // The next text or binary message received; nullopt when none is waiting. The server's close
    // frame is an error naming its status code once the messages before it are taken.
    Result<std::optional<std::string>> next_message();
    // Frames wslay wants to send (pong, close reply).
    std::string take_output();

    struct State;

private:
    std::unique_ptr<State> s_;
};

}  // namespace timepipe::http
