#include "libtime/sys/name_resolver.hpp"

#include <sysexits.h>

#include "libtime/base/log.hpp"

namespace timepipe {

NameResolver::Lookup NameResolver::lookup(HostPort hp, std::uint16_t default_port, Family family) {
    return [hp = std::move(hp), default_port, family] { return PendingResolution::start(hp, default_port, family); };
}

NameResolver::NameResolver(EventLoop& loop, std::string subject, Lookup lookup, RetrySchedule schedule,
                           Callbacks callbacks)
    : loop_(loop),
      subject_(std::move(subject)),
      lookup_(std::move(lookup)),
      schedule_(schedule),
      callbacks_(std::move(callbacks)) {}

void NameResolver::start() {
    retrying_ = true;
    resolve();
}

void NameResolver::resolve() {
    if (pending_) return;  // one lookup at a time
    auto p = lookup_();
    if (p) {
        pending_.emplace(std::move(*p));
        auto w = FdWatcher::create(loop_, pending_->fd(), [this](FdEvents) { on_answer(); });
        if (w) return (void)watcher_.emplace(std::move(*w));
        p = Unexpected<Error>{w.error()};
        pending_.reset();
    }
    failure_ = p.error().what;
    exit_code_ = p.error().exit_code;
    log::warnx("%s: %s", subject_.c_str(), failure_.c_str());
    retrying_ = false;  // the machine is in trouble: no retry
    if (callbacks_.on_settled) callbacks_.on_settled();
}

void NameResolver::on_answer() {
    auto answer = pending_->take();
    if (!answer) return;
    watcher_.reset();  // safe from inside its own callback (libtime/sys/event_loop.hpp)
    pending_.reset();
    if (!*answer) {
        const Error& e = answer->error();
        if (!said_failure_ || e.what != failure_) log::warnx("%s: %s; retrying", subject_.c_str(), e.what.c_str());
        said_failure_ = true;
        failure_ = e.what;
        exit_code_ = e.exit_code;
        if (!retrying_) return;  // once resolved, it looks again only when refreshed
        if (!retry_timer_) {
            auto t = Timer::create(loop_, [this] { resolve(); });
            if (!t) log::fatalx(EX_OSERR, "timer: %s", t.error().what.c_str());
            retry_timer_.emplace(std::move(*t));
        }
        retry_timer_->start(schedule_.next());
        return;
    }
    if (said_failure_) log::warnx("%s: resolved", subject_.c_str());
    said_failure_ = false;
    failure_.clear();
    exit_code_ = 0;
    const bool first = !resolved_;
    resolved_ = true;
    const std::size_t taken = callbacks_.on_addresses ? callbacks_.on_addresses(**answer) : 0;
    if (taken > 0 || first) schedule_.reset();
    retrying_ = false;
    if (callbacks_.on_settled) callbacks_.on_settled();  // maybe every address was in use already
}

void NameResolver::refresh(std::int64_t mono_now) {
    if (!resolved_) return;
    if (pending_ || !schedule_.allow(mono_now)) return;
    resolve();
}

}  // namespace timepipe
