// Following an upstream sample stream (time-stream(5)), as the servers' --upstream FILE|- does:
// open first (so a missing file is an error before anything binds), then start() on the event
// loop. Every sample and tracking record goes to on_record; other record types are skipped; a
// record of those two types that is not valid is one warning and skipped.
//
//   -          standard input (or any other file that is neither regular nor a FIFO): read
//              until it ends. on_end(nullopt) at its end, on_end(error) when it breaks
//              (malformed bytes, named by their offset; a read error) — once, and then nothing.
//   FIFO       reopened whenever its writer goes away, so writers may come and go (a
//              `roughtime-query >> FIFO` from a timer); never ends.
//   FILE       followed like `tail -F`: records appended later are read; the file replaced
//              (renamed over, removed and created again) or truncated is read again from its
//              start; checked every kRecheck once its end is reached; never ends.
// In a FIFO or FILE, malformed bytes are reported once and the rest is ignored until the
// writer reopens the FIFO or the FILE is replaced or truncated.
//
//   auto feed = UpstreamFeed::open(opt.upstream);                 // "-" is standard input
//   if (!feed) log::fatalx(feed.error().exit_code, "%s", feed.error().what.c_str());
//   feed->start(loop, [&](const UpstreamRecord& r) { return ref.add(r, clock.now()); },
//               [&](std::optional<Error> why) { ... the upstream is gone ... });
//
// UpstreamLog says on standard error, once, when the state of the followed upstream changes:
//   ntp-serve: stdin: synchronised to ntp://192.0.2.1:123 (stratum 2)
//   ntp-serve: stdin: unsynchronised: every sample is stale (the newest is 1100 s old)
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "libtime/base/error.hpp"
#include "libtime/server/upstream_reference.hpp"
#include "libtime/stream/codec.hpp"
#include "libtime/stream/records.hpp"
#include "libtime/sys/event_loop.hpp"
#include "libtime/sys/file.hpp"
#include "libtime/sys/file_follow.hpp"

namespace timepipe {

class UpstreamFeed {
public:
    using OnRecord = std::function<Result<void>(const UpstreamRecord&)>;  // a failure is logged at -v
    using OnEnd = std::function<void(std::optional<Error>)>;     // nullopt: the stream ended
    static constexpr std::chrono::milliseconds kRecheck{500};

    // Opens PATH ("-": standard input); the error names the file.
    static Result<std::unique_ptr<UpstreamFeed>> open(const std::string& path);

    Result<void> start(EventLoop& loop, OnRecord on_record, OnEnd on_end);
    const std::string& name() const { return name_; }  // the file, or "stdin"
    bool can_end() const { return kind_ == Kind::stream; }

    UpstreamFeed(const UpstreamFeed&) = delete;  // the reader's callbacks hold `this`
    UpstreamFeed& operator=(const UpstreamFeed&) = delete;

    enum class Kind { stream, file, fifo };
    struct Key { explicit Key() = default; };  // construction goes through open()
    UpstreamFeed(Key, InputFile file, std::string name, Kind kind, FileIdentity id)
        : kind_(kind), file_(std::move(file)), name_(std::move(name)), id_(id) {}

private:
    Result<void> read();       // a reader from where the file stands to its end
    void on_chunk(std::span<const std::byte> chunk);
    void on_eof(std::optional<Error> err);
    void check_file();         // FILE at its end: replaced, truncated, grown?
    void reopen();             // FIFO writer gone, FILE replaced: open the name again
    void restart_decoder();
    bool take_records();       // false once the stream is broken
    void retry_later();

    Kind kind_;
    InputFile file_;  // outlives the reader that watches it
    std::string name_;
    FileIdentity id_;
    StreamDecoder decoder_;
    OnRecord on_record_;
    OnEnd on_end_;
    EventLoop* loop_ = nullptr;
    bool open_ = true;     // stream: not ended yet
    bool broken_ = false;  // FIFO, FILE: ignoring the rest of this file or writer
    bool missing_ = false; // FILE: gone, said so once
    std::string broken_what_;  // why take_records() last returned false
    std::optional<InputReader> reader_;
    std::optional<Timer> timer_;
};

class UpstreamLog {
public:
    explicit UpstreamLog(std::string name) : name_(std::move(name)) {}
    // Logs the report's line when its status or system peer differs from the last one noted
    // (the first "waiting" is not news).
    void note(const UpstreamReport& r);

private:
    std::string name_;
    UpstreamReport last_;
};

}  // namespace timepipe
