#include "libtime/stream/record_fields.hpp"

#include <cmath>
#include <cstdio>
#include <sysexits.h>

namespace timepipe {

Record record_header(std::string_view type, const std::string& source, UnixNanos time) {
    Record r = Record::object();
    r["v"] = kStreamVersion;
    r["type"] = type;
    r["source"] = source;
    r["time"] = time;
    return r;
}

void RecordFields::expect_type() {
    auto t = record_type(r_);
    if (t != type_) fail_with("not a " + std::string(type_) + " record (type \"" + std::string(t) + "\")");
}

void RecordFields::number(const char* key, double& out, double lo) {
    double d = 0;
    if (const Record* v = find(key, true); v && read_number(key, *v, d, lo)) out = d;
}

void RecordFields::number(const char* key, std::optional<double>& out, double lo) {
    double d = 0;
    if (const Record* v = find(key, false); v && read_number(key, *v, d, lo)) out = d;
}

void RecordFields::bounded(const char* key, std::optional<double>& out, double lo, double hi) {
    double d = 0;
    const Record* v = find(key, false);
    if (!v || !read_number(key, *v, d, -kInf)) return;
    if (d < lo || d > hi) {
        char why[96];
        std::snprintf(why, sizeof why, "%.9g is not in %g..%g", d, lo, hi);
        return bad(key, why);
    }
    out = d;
}

void RecordFields::text(const char* key, std::string& out, bool nonempty) {
    std::string s;
    if (const Record* v = find(key, true); v && read_text(key, *v, s, nonempty)) out = std::move(s);
}

void RecordFields::text(const char* key, std::optional<std::string>& out, bool nonempty) {
    std::string s;
    if (const Record* v = find(key, false); v && read_text(key, *v, s, nonempty)) out = std::move(s);
}

void RecordFields::boolean(const char* key, bool& out) {
    const Record* v = find(key, true);
    if (!v) return;
    if (!v->is_boolean()) return bad(key, "not a boolean");
    out = v->get<bool>();
}

void RecordFields::boolean(const char* key, std::optional<bool>& out) {
    const Record* v = find(key, false);
    if (!v) return;
    if (!v->is_boolean()) return bad(key, "not a boolean");
    out = v->get<bool>();
}

void RecordFields::counters(const char* key, std::map<std::string, std::uint64_t>& out) {
    const Record* v = find(key, true);
    if (!v) return;
    if (!v->is_object()) return bad(key, "not a map");
    for (const auto& item : v->items()) {
        if (!item.value().is_number_unsigned() &&
            !(item.value().is_number_integer() && item.value().get<std::int64_t>() >= 0))
            return bad(key, "counter \"" + item.key() + "\" is not an unsigned integer");
        out[item.key()] = item.value().get<std::uint64_t>();
    }
}

void RecordFields::names(const char* key, std::vector<std::string>& out) {
    const Record* v = find(key, true);
    if (!v) return;
    if (!v->is_array()) return bad(key, "not an array");
    for (const auto& item : *v) {
        if (!item.is_string() || item.get_ref<const std::string&>().empty())
            return bad(key, "an item is not a non-empty text string");
        out.push_back(item.get<std::string>());
    }
}

void RecordFields::bad(const std::string& key, const std::string& why) { fail_with("\"" + key + "\": " + why); }

void RecordFields::fail_with(const std::string& why) {
    if (!err_) err_ = Error{std::string(type_) + ": " + why, EX_DATAERR};
}

Result<void> RecordFields::result() const {
    if (err_) return Unexpected<Error>{*err_};
    return {};
}

const Record* RecordFields::find(const char* key, bool required) {
    if (err_) return nullptr;
    auto it = r_.find(key);
    if (it == r_.end()) {
        if (required) fail_with("missing \"" + std::string(key) + "\"");
        return nullptr;
    }
    return &*it;
}

bool RecordFields::read_int(const char* key, const Record& v, std::int64_t& out, std::int64_t lo, std::int64_t hi) {
    if (!v.is_number_integer()) return bad(key, "not an integer"), false;
    const std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    std::int64_t i;
    if (v.is_number_unsigned()) {
        auto u = v.get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(kInt64Max)) return bad(key, std::to_string(u) + " is not in " + range), false;
        i = static_cast<std::int64_t>(u);
    } else {
        i = v.get<std::int64_t>();
    }
    if (i < lo || i > hi) return bad(key, std::to_string(i) + " is not in " + range), false;
    out = i;
    return true;
}

bool RecordFields::read_number(const char* key, const Record& v, double& out, double lo) {
    if (!v.is_number()) return bad(key, "not a number"), false;
    double d = v.get<double>();
    if (!std::isfinite(d)) return bad(key, "not a finite number"), false;
    if (d < lo) return bad(key, "negative"), false;
    out = d;
    return true;
}

bool RecordFields::read_text(const char* key, const Record& v, std::string& out, bool nonempty) {
    if (!v.is_string()) return bad(key, "not a text string"), false;
    if (nonempty && v.get_ref<const std::string&>().empty()) return bad(key, "empty"), false;
    out = v.get<std::string>();
    return true;
}

}  // namespace timepipe
