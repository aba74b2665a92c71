// libFuzzer target for the Roughtime responder: arbitrary request datagrams (the input, cut into
// up to four pieces at 0xfe 0xfe 0xfe 0xfe markers, so batches are exercised too). No crash, no
// response larger than its request, and every response verifies for the request it answers.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <vector>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/client.hpp"
#include "libtime/roughtime/responder.hpp"

using namespace timepipe;
using namespace timepipe::roughtime;

namespace {

void check(bool ok) {
    if (!ok) std::abort();
}

struct Fixture {
    crypto::Ed25519KeyPair root;
    std::unique_ptr<Responder> responder;
    Fixture() {
        std::array<std::byte, 32> seed{};
        seed[0] = std::byte{1};
        root = crypto::ed25519_from_seed(seed);
        seed[0] = std::byte{2};
        auto online = crypto::ed25519_from_seed(seed);
        auto dele = make_delegation(root, online.public_key, 0, 4'000'000'000 * kNanosPerSecond);
        responder = std::make_unique<Responder>(std::move(dele), std::move(online));
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Fixture f;
    std::vector<std::byte> in(size);
    for (std::size_t i = 0; i < size; ++i) in[i] = static_cast<std::byte>(data[i]);

    std::vector<std::span<const std::byte>> batch;
    std::size_t start = 0;
    for (std::size_t i = 0; i + 4 <= in.size() && batch.size() < 3; ++i) {
        if (in[i] == std::byte{0xfe} && in[i + 1] == std::byte{0xfe} && in[i + 2] == std::byte{0xfe} &&
            in[i + 3] == std::byte{0xfe}) {
            batch.push_back(std::span<const std::byte>(in).subspan(start, i - start));
            start = i + 4;
            i += 3;
        }
    }
    batch.push_back(std::span<const std::byte>(in).subspan(start));

    const auto replies = f.responder->respond(batch, 1'750'000'000 * kNanosPerSecond, kNanosPerSecond);
    check(replies.size() == batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
        check(replies[i].bytes.size() <= batch[i].size());
        if (replies[i].dropped) {
            check(replies[i].bytes.empty());
            check(!to_string(*replies[i].dropped).empty());
            continue;
        }
        // What we answer, a client that sent this request must accept (the request may be one our
        // client would not build; then it is rejected as a request, never a crash).
        auto t = verify_response(batch[i], replies[i].bytes, f.root.public_key);
        check(t.has_value() || t.error() == VerifyError::BadRequest);
    }
    return 0;
}
