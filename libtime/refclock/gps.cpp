#include "libtime/refclock/gps.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <tuple>

namespace timepipe::refclock {
namespace {

constexpr std::int64_t kLatestSecond = 7'258'118'400;  // 2200-01-01

bool before(const NmeaTime& a, const NmeaTime& b) {
    return std::tie(a.hour, a.minute, a.second, a.nanos) < std::tie(b.hour, b.minute, b.second, b.nanos);
}

// "1.234 s ahead of the local clock", "jump of -2.000 s from the last valid second"
std::string seconds_text(const char* before_number, double s, const char* after_number) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.3f", s);
    return before_number + std::string(buf) + after_number;
}

}  // namespace

double gps_dispersion(std::optional<double> hdop) {
    if (!hdop) return 0.020;
    return std::min(1.0, 0.010 * std::max(1.0, *hdop));
}

std::vector<GpsEpoch> GpsReceiver::on_sentence(const Sentence& s, UnixNanos first_byte) {
    std::vector<GpsEpoch> out;
    ++counters_["sentences"];
    if (!s.time) {
        // "$GPGGA,,,,,,0,00,99.99,,,,,,*48": a receiver without a fix names no time at all.
        if (s.valid == false) {
            ++counters_["no_fix_untimed"];
            lock_ = 0;
        }
        return out;
    }
    const std::string key = s.talker + s.type;
    if (open_ && open_->tod != *s.time) {
        // The epoch ended without the sentence that ended the last one: its last is the end now.
        cycle_end_ = open_->last_key;
        out.push_back(close_open());
    }
    if (!open_ && closed_tod_ == *s.time) {
        // A sentence of an epoch already written: the cycle ends later than learned.
        ++counters_["late_sentences"];
        cycle_end_ = key;
        return out;
    }
    if (!open_) {
        open_.emplace();
        open_->tod = *s.time;
        open_->first_byte = first_byte;
        open_->talker = s.talker;
    }
    Open& e = *open_;
    if (s.date) {
        if (e.date && *e.date != *s.date && !e.said_invalid) e.said_invalid = s.talker + s.type + ": another date than the epoch's";
        e.date = s.date;
    }
    if (s.valid == true) e.said_valid = true;
    if (s.valid == false && !e.said_invalid) {
        if (s.type == "RMC" && s.status == 'V') e.said_invalid = "no fix: " + s.talker + "RMC status V";
        else if (s.type == "RMC") e.said_invalid = "no fix: " + s.talker + "RMC mode " + s.mode.value_or("");
        else if (s.type == "GGA") e.said_invalid = "no fix: " + s.talker + "GGA quality " + std::to_string(s.quality.value_or(0));
        else e.said_invalid = "no fix: " + s.talker + s.type + " mode " + s.mode.value_or("");
    }
    if (s.type == "RMC") {
        if (s.status) e.status = s.status;
        if (s.mode) e.mode = s.mode;
    }
    if (s.type == "GNS" && s.mode) e.mode = s.mode;
    if (s.quality) e.quality = s.quality;
    if (s.satellites) e.satellites = s.satellites;
    if (s.hdop) e.hdop = s.hdop;
    if (s.altitude) e.altitude = s.altitude;
    // Position from GGA or GNS, RMC's only when neither came.
    bool position_sentence = s.type == "GGA" || s.type == "GNS";
    if (s.latitude && s.longitude && (position_sentence || !e.latitude)) {
        e.latitude = s.latitude;
        e.longitude = s.longitude;
    }
    e.last_key = key;
    // The receiver's last sentence of a second, learned from the epochs before: the epoch is
    // complete, write it now rather than when the next second's first sentence comes.
    if (cycle_end_ == key) out.push_back(close_open());
    return out;
}

GpsEpoch GpsReceiver::close_open() {
    closed_tod_ = open_->tod;
    GpsEpoch e = close(*open_);
    open_.reset();
    return e;
}

std::vector<GpsEpoch> GpsReceiver::finish() {
    std::vector<GpsEpoch> out;
    if (open_) out.push_back(close_open());
    return out;
}

GpsEpoch GpsReceiver::reject(GpsEpoch out, std::string why) {
    out.fix.valid = false;
    out.fix.reason = std::move(why);
    out.fix.lock = 0;
    lock_ = 0;
    ++counters_["refused"];
    return out;
}

GpsEpoch GpsReceiver::close(const Open& e) {
    ++counters_["epochs"];
    GpsEpoch out;
    GpsFix& f = out.fix;
    f.source = config_.source;
    f.talker = e.talker;
    f.quality = e.quality;
    if (e.status) f.status = std::string(1, *e.status);
    f.mode = e.mode;
    f.satellites = e.satellites;
    f.hdop = e.hdop;
    f.latitude = e.latitude;
    f.longitude = e.longitude;
    f.altitude = e.altitude;

    // GGA alone names no date: the last one named, a day later once the time of day wrapped.
    std::optional<NmeaDate> date = e.date;
    if (!date && last_date_) {
        date = last_date_;
        if (before(e.tod, last_tod_))
            date = civil_from_days(days_from_civil(date->year, date->month, date->day) + 1);
    }
    if (!date) {
        f.time = config_.replay ? replay_clock_.value_or(0) : e.first_byte;
        return reject(std::move(out), "no date yet");
    }
    last_date_ = date;
    last_tod_ = e.tod;

    bool leap = e.tod.second == 60;
    std::int64_t days = days_from_civil(date->year, date->month, date->day);
    // A leap second counts as 23:59:59 plus one: the next day's 00:00:00 in Unix time.
    std::int64_t sec = days * 86400 + e.tod.hour * 3600 + e.tod.minute * 60 + std::min(e.tod.second, 59);
    int weeks = 0;
    while (sec < config_.not_before / kNanosPerSecond && weeks < 1024 * 64) {
        sec += kRolloverSeconds;
        days += 1024 * 7;
        weeks += 1024;
    }
    // Nanoseconds since 1970 in 64 bits end in 2262; no receiver is right about a date past 2200.
    if (sec >= kLatestSecond || sec < config_.not_before / kNanosPerSecond) {
        f.time = config_.replay ? replay_clock_.value_or(0) : e.first_byte;
        return reject(std::move(out), "date " + iso8601_utc(*date, e.tod).substr(0, 10) + " out of range");
    }
    f.utc = iso8601_utc(civil_from_days(days), e.tod);
    if (weeks) {
        f.rollover_weeks = weeks;
        ++counters_["rollover_corrected"];
    }
    if (leap) f.leap_second = true;
    UnixNanos utc = (sec + (leap ? 1 : 0)) * kNanosPerSecond + e.tod.nanos;

    UnixNanos local = e.first_byte;
    if (config_.replay) {
        // After 23:59:60 the stamp stands still for one epoch, as a kernel clock repeats a
        // second when it inserts one: 00:00:00 then names the time its stamp says.
        if (!replay_clock_) replay_clock_ = utc;
        else if (!replay_hold_) *replay_clock_ += kNanosPerSecond;
        replay_hold_ = leap;
        local = *replay_clock_;
    }
    f.time = local;
    last_time_ = local;
    // Seconds counted through leap seconds, so that 23:59:59, 23:59:60, 00:00:00 are consecutive.
    std::int64_t count = sec + leaps_seen_ + (leap ? 1 : 0);
    if (leap) {
        if (e.tod.hour != 23 || e.tod.minute != 59) return reject(std::move(out), "second 60 outside 23:59");
        ++leaps_seen_;
    }

    if (e.said_invalid) return reject(std::move(out), *e.said_invalid);
    if (!e.said_valid) return reject(std::move(out), "no fix status (no GGA, RMC or GNS)");
    if (config_.min_satellites > 0) {
        if (!e.satellites) return reject(std::move(out), "satellites not reported");
        if (*e.satellites < config_.min_satellites)
            return reject(std::move(out), std::to_string(*e.satellites) + " satellites, fewer than --min-sats " +
                                              std::to_string(config_.min_satellites));
    }
    if (utc - local > static_cast<std::int64_t>(config_.max_ahead * 1e9)) {
        ++counters_["future"];
        return reject(std::move(out), seconds_text("", nanos_to_seconds(utc - local), " s ahead of the local clock"));
    }
    // The jump check runs on Unix time against the local clock. A leap second is not checked
    // (Unix time has no room for it), and the epoch after it may be a second either way: the
    // local clock may have repeated a second or not (yet).
    if (!leap && prev_unix_) {
        std::int64_t off = utc - (*prev_unix_ + (local - prev_local_));
        std::int64_t slack = static_cast<std::int64_t>(config_.max_jump * 1e9) + (after_leap_ ? kNanosPerSecond : 0);
        if (std::llabs(off) > slack) {
            prev_count_ = count;
            prev_unix_ = utc;
            prev_local_ = local;
            after_leap_ = false;
            ++counters_["jumps"];
            return reject(std::move(out), seconds_text("jump of ", nanos_to_seconds(off), " s from the last valid second"));
        }
    }
    lock_ = prev_count_ && count == *prev_count_ + 1 && lock_ > 0 ? lock_ + 1 : 1;
    prev_count_ = count;
    after_leap_ = leap;
    if (!leap) {
        prev_unix_ = utc;
        prev_local_ = local;
    }
    f.valid = true;
    f.lock = lock_;
    ++counters_["valid"];
    if (leap) {
        // 23:59:60 has no Unix time of its own: no sample, the lock goes on.
        ++counters_["leap_seconds"];
        return out;
    }
    if (lock_ < config_.lock) return out;
    Sample s;
    s.source = config_.source;
    s.time = local;
    s.offset = nanos_to_seconds(utc - local) - config_.offset;
    s.delay = 0;
    s.dispersion = gps_dispersion(e.hdop);
    s.stratum = 0;
    s.leap = 0;
    s.refid = "GPS";
    s.poll = 0;
    out.sample = std::move(s);
    ++counters_["samples"];
    return out;
}

}  // namespace timepipe::refclock
