// webntp-query's exchanges with one URL: a connection (TCP, TLS for https/wss) kept open across
// samples, GET requests or WebSocket messages, and each answer turned into a measurement.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/error.hpp"
#include "libtime/http/client_http.hpp"
#include "libtime/http/webntp_message.hpp"

namespace webntp_query {

struct QueryOptions {
    int samples = 4;
    std::chrono::nanoseconds timeout = std::chrono::seconds(2);
    std::string ca_file;   // empty: the system's CAs
};

struct UrlResult {
    timepipe::http::WebUrl url;
    std::vector<timepipe::http::WebNtpSample> samples;
    timepipe::http::WebNtpReply last;   // the last answer (leap information)
    std::int64_t last_recv = 0;         // local time of the last answer
};

// All samples of one URL, or the first error that stopped it.
timepipe::Result<UrlResult> query_url(const timepipe::http::WebUrl& url, const QueryOptions& opt);

}  // namespace webntp_query
