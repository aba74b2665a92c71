#include "libtime/server/upstream_feed.hpp"

#include "libtime/base/log.hpp"

namespace timepipe {

Result<std::unique_ptr<UpstreamFeed>> UpstreamFeed::open(const std::string& path) {
    if (path == "-") return std::make_unique<UpstreamFeed>(Key{}, InputFile::standard_input(), "stdin");
    auto f = InputFile::open_read(path.c_str());
    if (!f) return fail(path + ": " + f.error().what, f.error().exit_code);
    return std::make_unique<UpstreamFeed>(Key{}, std::move(*f), path);
}

Result<void> UpstreamFeed::start(EventLoop& loop, OnSample on_sample, OnEnd on_end) {
    on_sample_ = std::move(on_sample);
    on_end_ = std::move(on_end);
    auto in = InputReader::create(
        loop, file_.fd(),
        [this](std::span<const std::byte> chunk) {
            if (!open_) return;
            decoder_.feed(chunk);
            if (!take_samples()) finish();
        },
        [this](std::optional<Error> err) {
            if (err) log::warnx("%s: %s", name_.c_str(), err->what.c_str());
            if (!open_) return;
            decoder_.finish();
            take_samples();
            log::info("%s: upstream ended", name_.c_str());
            finish();
        });
    if (!in) return fail(name_ + ": " + in.error().what, in.error().exit_code);
    reader_.emplace(std::move(*in));
    return {};
}

bool UpstreamFeed::take_samples() {
    for (;;) {
        auto r = decoder_.next();
        if (!r) {
            log::warnx("%s: %s (upstream ignored from here on)", name_.c_str(), r.error().what.c_str());
            return false;
        }
        if (!*r) return true;
        if (record_type(**r) != Sample::kType) continue;
        auto s = from_record<Sample>(**r);
        if (!s) {
            log::warnx("%s: %s", name_.c_str(), s.error().what.c_str());
            continue;
        }
        if (auto ok = on_sample_(*s); !ok) log::info("%s", ok.error().what.c_str());
    }
}

void UpstreamFeed::finish() {
    if (!open_) return;
    open_ = false;
    on_end_();
}

}  // namespace timepipe
