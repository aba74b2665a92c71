// What the stream tests share: sample records with every key set and with only the required
// ones, the CBOR round trip every typed-record test goes through, why a reader refuses a record,
// and a decoder's records read to its end.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "libtime/stream/records.hpp"

namespace timepipe::test {

// Encodes `r` to CBOR, decodes it and reads it back as T: the path every reader takes.
template <class T>
Result<T> through_cbor(const Record& r) {
    auto bytes = encode_record(r);
    EXPECT_TRUE(bytes);
    auto back = decode_records(*bytes);
    EXPECT_TRUE(back);
    return from_record<T>((*back)[0]);
}

// Why from_record<T> refuses `r`, or "no error".
template <class T>
std::string error_of(const Record& r) {
    auto t = from_record<T>(r);
    return t ? "no error" : t.error().what;
}

// What a decoder gave until it had no more: the records, then its error if it stopped on one.
struct Drained {
    std::vector<Record> records;
    std::string error;
};

// Takes records from `dec` (a StreamDecoder or a JsonLinesDecoder) until it has none or fails,
// appending them to `d`.
template <class Decoder>
Drained drain(Decoder& dec, Drained d = {}) {
    for (;;) {
        auto r = dec.next();
        if (!r) { d.error = r.error().what; return d; }
        if (!*r) return d;
        d.records.push_back(std::move(**r));
    }
}

inline Sample full_sample() {
    Sample s;
    s.source = "ntp://127.0.0.1:123";
    s.time = 1700000000123456789;
    s.offset = -0.000123;
    s.delay = 0.00042;
    s.dispersion = 0.001;
    s.stratum = 2;
    s.leap = 0;
    s.refid = "192.0.2.7";
    s.poll = 6;
    s.root_delay = 0.01;
    s.root_dispersion = 0.02;
    s.jitter = 0.0001;
    s.reach = 0377;
    s.precision = -23;
    s.version = 4;
    s.interleaved = false;
    s.kod = "RATE";
    return s;
}

inline Sample minimal_sample() {
    Sample s;
    s.source = "ntp://[::1]:123";
    s.time = 1;
    s.refid = "GPS";
    s.stratum = 1;
    return s;
}

}  // namespace timepipe::test
