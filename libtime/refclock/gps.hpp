// A GPS receiver's NMEA as a time source, pure: sentences (libtime/refclock/nmea.hpp) stamped
// with their local receive time in, one gps_fix record per epoch and a sample record per epoch
// that passes every check out. An epoch is the sentences naming one time of day; it closes after
// the sentence that ended the epoch before (learned), or when a sentence names another time, or
// at finish(). A sentence naming the time of an epoch already closed is counted and dropped.
// The rules are in man/gps-reader.1.
//
//   GpsReceiver rx(config);
//   for (auto& e : rx.on_sentence(sentence, first_byte_time)) { write(e.fix); if (e.sample) write(*e.sample); }
//   for (auto& e : rx.finish()) ...
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libtime/base/unix_time.hpp"
#include "libtime/refclock/nmea.hpp"
#include "libtime/stream/gps_fix.hpp"
#include "libtime/stream/records.hpp"

namespace timepipe::refclock {

inline constexpr std::int64_t kRolloverSeconds = 1024LL * 7 * 86400;  // 1024 GPS weeks

struct GpsConfig {
    std::string source = "gps://stdin";
    int min_satellites = 4;      // a fix reporting fewer (or none) is not valid; 0: not checked
    int lock = 3;                // consecutive valid seconds before samples are written
    double offset = 0;           // s, the receiver's fixed delay, subtracted from every offset
    // The earliest date the receiver can be right about (gps-reader: its build date). A date
    // before it comes from a receiver past a week rollover: 1024 weeks are added until it is not.
    UnixNanos not_before = 0;
    double max_ahead = 86400;    // s: a time further ahead of the local clock is refused
    double max_jump = 0.5;       // s: a valid epoch off the last one's timeline by more is refused
    // A recording (a regular file) has no receive times: each epoch is stamped one second after
    // the one before, the first dated epoch with the time it names (the epoch after 23:59:60
    // with the same stamp as the leap second, as a kernel repeats a second).
    bool replay = false;
};

struct GpsEpoch {
    GpsFix fix;
    std::optional<Sample> sample;  // valid, locked, not a leap second
};

// The sentences of the epoch still open (outside GpsReceiver: clang cannot default-construct a
// nested struct with member initialisers inside std::optional before the class is complete).
struct GpsOpenEpoch {
    NmeaTime tod;
    UnixNanos first_byte = 0;
    std::string talker;
    std::optional<NmeaDate> date;
    bool said_valid = false;
    std::optional<std::string> said_invalid;  // why
    std::optional<int> quality, satellites;
    std::optional<char> status;
    std::optional<std::string> mode;
    std::optional<double> hdop, latitude, longitude, altitude;
    std::string last_key;  // talker and type of its last sentence: "GPZDA"
};

class GpsReceiver {
public:
    explicit GpsReceiver(GpsConfig config) : config_(std::move(config)) {}

    // One parsed sentence; its first byte arrived at `first_byte` (local clock). Returns the
    // epoch it closed, if any.
    std::vector<GpsEpoch> on_sentence(const Sentence& s, UnixNanos first_byte);
    // The input ended: the open epoch, if any.
    std::vector<GpsEpoch> finish();

    // Counters for the stats record: epochs, valid, refused, samples, ...
    const std::map<std::string, std::uint64_t>& counters() const { return counters_; }
    // The local time of the last epoch (the replay stamp when replaying), 0 before any.
    UnixNanos last_time() const { return last_time_; }

private:
    using Open = GpsOpenEpoch;
    GpsEpoch close(const Open& e);
    GpsEpoch close_open();  // close() the open epoch, remember its time of day
    GpsEpoch reject(GpsEpoch out, std::string why);

    GpsConfig config_;
    std::optional<Open> open_;
    // The sentence that ends a receiver's second ("GPZDA"), learned from the last epoch that
    // ended by the next one's start; the time of day of the epoch written last.
    std::optional<std::string> cycle_end_;
    std::optional<NmeaTime> closed_tod_;
    std::map<std::string, std::uint64_t> counters_;
    UnixNanos last_time_ = 0;
    // The date the receiver named last and its time of day, to date epochs whose sentences carry
    // no date (GGA alone).
    std::optional<NmeaDate> last_date_;
    NmeaTime last_tod_;
    // The last valid epoch: its UTC in seconds counted through leap seconds (a 23:59:60
    // counts: the lock), and, for the jump check, its Unix time and local time (leap seconds
    // left out); whether it was 23:59:60; the consecutive valid seconds.
    std::optional<std::int64_t> prev_count_;
    std::optional<UnixNanos> prev_unix_;
    UnixNanos prev_local_ = 0;
    bool after_leap_ = false;
    std::int64_t leaps_seen_ = 0;
    int lock_ = 0;
    std::optional<UnixNanos> replay_clock_;
    bool replay_hold_ = false;
};

// The dispersion of a sample from the fix's HDOP: 10 ms x HDOP (HDOP taken as 1 when below 1),
// 20 ms when the receiver sent no HDOP, at most 1 s. NMEA time is good to milliseconds.
double gps_dispersion(std::optional<double> hdop);

}  // namespace timepipe::refclock
