// libFuzzer target for the Roughtime message codec. Whatever parses (framed or not) must
// re-serialise to the very same octets, and its nested messages parse within the depth bound.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libtime/roughtime/message.hpp"

using namespace timepipe::roughtime;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

void walk(const MessageView& m) {
    for (std::size_t i = 0; i < m.size(); ++i) {
        check(m.find(m.tag_at(i)).has_value());
        auto nested = m.message(m.tag_at(i));
        if (nested) {
            check(nested->depth() == m.depth() + 1);
            walk(*nested);
        } else {
            check(!to_string(nested.error()).empty());
        }
    }
}

void round_trip(std::span<const std::byte> body, bool framed, std::span<const std::byte> whole) {
    auto m = parse_message(body);
    if (!m) {
        check(!to_string(m.error()).empty());
        return;
    }
    walk(*m);
    if (m->size() > MessageBuilder::kCapacity) return;  // parses, but more than the builder holds
    MessageBuilder b;
    for (std::size_t i = 0; i < m->size(); ++i) b.add(m->tag_at(i), m->value_at(i));
    check(b.encoded_size() == body.size());
    std::vector<std::byte> out(whole.size());
    auto n = framed ? b.write_framed(out) : b.write(out);
    check(n.has_value() && *n == whole.size());
    check(std::equal(whole.begin(), whole.end(), out.begin()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> in(size);
    for (std::size_t i = 0; i < size; ++i) in[i] = static_cast<std::byte>(data[i]);
    round_trip(in, false, in);
    if (auto body = unframe(in)) round_trip(*body, true, in);
    return 0;
}
