// Following an upstream sample stream (time-stream(5)) from a file or standard input, as the
// servers' --upstream FILE|- does: open first (so a missing file is an error before anything
// binds), then start() on the event loop. Every sample record goes to on_sample; other record
// types are skipped; a record that is not a valid sample is one warning and skipped. on_end is
// called once, when the stream ends or breaks: a broken stream is an upstream gone, and the
// server goes on, unsynchronised.
//
//   auto feed = UpstreamFeed::open(opt.upstream);                 // "-" is standard input
//   if (!feed) log::fatalx(feed.error().exit_code, "%s", feed.error().what.c_str());
//   feed->start(loop, [&](const Sample& s) { return ref.add(s); }, [&] { ref.end(); });
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/file.hpp"

namespace timepipe {

class UpstreamFeed {
public:
    using OnSample = std::function<Result<void>(const Sample&)>;  // a failure is logged at -v
    using OnEnd = std::function<void()>;

    // Opens PATH ("-": standard input); the error names the file.
    static Result<std::unique_ptr<UpstreamFeed>> open(const std::string& path);

    Result<void> start(EventLoop& loop, OnSample on_sample, OnEnd on_end);
    const std::string& name() const { return name_; }  // the file, or "stdin"

    UpstreamFeed(const UpstreamFeed&) = delete;  // the reader's callbacks hold `this`
    UpstreamFeed& operator=(const UpstreamFeed&) = delete;

    struct Key { explicit Key() = default; };  // construction goes through open()
    UpstreamFeed(Key, InputFile file, std::string name) : file_(std::move(file)), name_(std::move(name)) {}

private:
    bool take_samples();  // false once the stream is broken
    void finish();

    InputFile file_;  // outlives the reader that watches it
    std::string name_;
    StreamDecoder decoder_;
    OnSample on_sample_;
    OnEnd on_end_;
    bool open_ = true;
    std::optional<InputReader> reader_;
};

}  // namespace timepipe
