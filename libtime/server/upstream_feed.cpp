#include "libtime/server/upstream_feed.hpp"

#include "libtime/base/log.hpp"

namespace timepipe {

namespace {

template <typename T>
Result<UpstreamRecord> as_upstream(const Record& r) {
    auto x = from_record<T>(r);
    if (!x) return Unexpected<Error>{x.error()};
    return UpstreamRecord{std::move(*x)};
}

}  // namespace

Result<std::unique_ptr<UpstreamFeed>> UpstreamFeed::open(const std::string& path) {
    if (path == "-")
        return std::make_unique<UpstreamFeed>(Key{}, InputFile::standard_input(), "stdin", Kind::stream, FileIdentity{});
    auto named = identify(path.c_str());
    if (!named) return fail(path + ": " + named.error().what, named.error().exit_code);
    const bool fifo = named->kind == FileKind::fifo;
    auto f = fifo ? InputFile::open_read_nonblocking(path.c_str()) : InputFile::open_read(path.c_str());
    if (!f) return fail(path + ": " + f.error().what, f.error().exit_code);
    auto id = identify(f->fd());
    if (!id) return fail(path + ": " + id.error().what, id.error().exit_code);
    const Kind kind = fifo ? Kind::fifo : id->kind == FileKind::regular ? Kind::file : Kind::stream;
    return std::make_unique<UpstreamFeed>(Key{}, std::move(*f), path, kind, *id);
}

Result<void> UpstreamFeed::start(EventLoop& loop, OnRecord on_record, OnEnd on_end) {
    loop_ = &loop;
    on_record_ = std::move(on_record);
    on_end_ = std::move(on_end);
    if (kind_ != Kind::stream) {
        auto t = Timer::create(loop, [this] { kind_ == Kind::file ? check_file() : reopen(); });
        if (!t) return fail(name_ + ": " + t.error().what, t.error().exit_code);
        timer_.emplace(std::move(*t));
    }
    return read();
}

Result<void> UpstreamFeed::read() {
    reader_.reset();
    auto in = InputReader::create(
        *loop_, file_.fd(), [this](std::span<const std::byte> chunk) { on_chunk(chunk); },
        [this](std::optional<Error> err) { on_eof(std::move(err)); });
    if (!in) return fail(name_ + ": " + in.error().what, in.error().exit_code);
    reader_.emplace(std::move(*in));
    return {};
}

void UpstreamFeed::on_chunk(std::span<const std::byte> chunk) {
    if (!open_ || broken_) return;
    decoder_.feed(chunk);
    if (take_records()) return;
    broken_ = true;
    if (kind_ == Kind::stream) {  // nothing more will be read: the upstream is gone
        open_ = false;
        reader_.reset();
        on_end_(Error{name_ + ": " + broken_what_, EX_DATAERR});
    } else {
        log::warnx("%s: %s (ignored until %s)", name_.c_str(), broken_what_.c_str(),
                   kind_ == Kind::fifo ? "the next writer" : "the file is replaced or truncated");
    }
}

void UpstreamFeed::on_eof(std::optional<Error> err) {
    if (err && kind_ != Kind::stream) log::warnx("%s: %s", name_.c_str(), err->what.c_str());
    switch (kind_) {
    case Kind::stream:
        if (!open_) return;
        open_ = false;
        if (!broken_) {
            decoder_.finish();
            if (!take_records()) log::warnx("%s: %s", name_.c_str(), broken_what_.c_str());
        }
        on_end_(err ? std::optional<Error>(Error{name_ + ": " + err->what, err->exit_code}) : std::nullopt);
        return;
    case Kind::fifo:
        if (!broken_) {
            decoder_.finish();
            if (!take_records()) log::warnx("%s: %s", name_.c_str(), broken_what_.c_str());
        }
        log::info("%s: the writer went away, waiting for the next one", name_.c_str());
        reopen();
        return;
    case Kind::file:
        retry_later();  // the end for now: records may be appended
        return;
    }
}

void UpstreamFeed::check_file() {
    auto now = identify(name_.c_str());
    if (!now) {
        if (!missing_) log::warnx("%s: %s (waiting for it to come back)", name_.c_str(), now.error().what.c_str());
        missing_ = true;
        retry_later();
        return;
    }
    if (!now->same_file(id_) || missing_) {
        log::info("%s: replaced, reading the new file from its start", name_.c_str());
        reopen();
        return;
    }
    auto pos = read_position(file_.fd());
    if (pos && now->size < *pos) {
        log::info("%s: truncated, reading it again from its start", name_.c_str());
        if (auto ok = rewind(file_.fd()); !ok) log::warnx("%s: %s", name_.c_str(), ok.error().what.c_str());
        restart_decoder();
    }
    if (!pos || now->size != *pos) {
        if (auto ok = read(); !ok) {
            log::warnx("%s", ok.error().what.c_str());
            retry_later();
        }
        return;
    }
    retry_later();
}

void UpstreamFeed::reopen() {
    reader_.reset();
    auto f = kind_ == Kind::fifo ? InputFile::open_read_nonblocking(name_.c_str()) : InputFile::open_read(name_.c_str());
    auto id = f ? identify(f->fd()) : Result<FileIdentity>(fail(f.error().what, f.error().exit_code));
    if (!f || !id) {
        if (!missing_) log::warnx("%s: %s (waiting for it to come back)", name_.c_str(), id.error().what.c_str());
        missing_ = true;
        retry_later();
        return;
    }
    if (missing_) log::warnx("%s: back", name_.c_str());
    missing_ = false;
    file_ = std::move(*f);
    id_ = *id;
    restart_decoder();
    if (auto ok = read(); !ok) {
        log::warnx("%s", ok.error().what.c_str());
        retry_later();
    }
}

void UpstreamFeed::restart_decoder() {
    decoder_ = StreamDecoder{};
    broken_ = false;
}

void UpstreamFeed::retry_later() {
    if (timer_) timer_->start(kRecheck);
}

bool UpstreamFeed::take_records() {
    for (;;) {
        auto r = decoder_.next();
        if (!r) {
            broken_what_ = r.error().what;
            return false;
        }
        if (!*r) return true;
        const auto type = record_type(**r);
        Result<UpstreamRecord> rec = type == Sample::kType     ? as_upstream<Sample>(**r)
                                     : type == Tracking::kType ? as_upstream<Tracking>(**r)
                                                               : fail("");
        if (type != Sample::kType && type != Tracking::kType) continue;
        if (!rec) {
            log::warnx("%s: %s", name_.c_str(), rec.error().what.c_str());
            continue;
        }
        if (auto ok = on_record_(*rec); !ok) log::info("%s", ok.error().what.c_str());
    }
}

void UpstreamLog::note(const UpstreamReport& r) {
    if (r.status == last_.status && r.peer == last_.peer) return;
    last_ = r;
    log::warnx("%s: %s", name_.c_str(), r.line.c_str());
}

}  // namespace timepipe
