// Roughtime Merkle tree: leaf/node prefixes by hand, Cloudflare's 10- and 100-leaf trees rebuilt
// from their nonces (same ROOT as signed), every leaf's PATH verifying for every size 1..70, and
// INDX rules (TIMEPIPE_SEED=N replays the random part).
#include "libtime/roughtime/merkle.hpp"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "libtime/base/crypto.hpp"
#include "libtime/roughtime/message.hpp"
#include "tests/unit/test_support.hpp"

namespace timepipe::roughtime {
namespace {

using Bytes = std::vector<std::byte>;
using timepipe::test::to_bytes;
using timepipe::test::hex;
using timepipe::test::read_vector_json;
using timepipe::test::test_seed;

TEST(RoughtimeMerkle, LeafAndNodePrefixes) {
    const Bytes data = hex("616263");
    const auto d = crypto::sha512(hex("00"), data);
    EXPECT_EQ(to_bytes(leaf_hash(data, 32).span()), to_bytes(std::span<const std::byte>(d).first(32)));
    EXPECT_EQ(to_bytes(leaf_hash(data, 64).span()), to_bytes(d));
    const Bytes l(32, std::byte{1}), r(32, std::byte{2});
    Bytes lr = l;
    lr.insert(lr.end(), r.begin(), r.end());
    const auto n = crypto::sha512(hex("01"), lr);
    EXPECT_EQ(to_bytes(node_hash(l, r, 32).span()), to_bytes(std::span<const std::byte>(n).first(32)));
}

// Cloudflare's trees (leaf = nonce, up to draft 11) rebuilt from the requests give the ROOT the
// replies carry, and our PATHs for every leaf equal theirs where their padding agrees with ours.
TEST(RoughtimeMerkle, CloudflareRootsRebuilt) {
    for (const char* f : {"roughtime_google_010.json", "roughtime_google_100.json", "roughtime_ietf_draft08_100.json",
                          "roughtime_ietf_draft11_010.json", "roughtime_ietf_draft11_100.json"}) {
        SCOPED_TRACE(f);
        const auto j = read_vector_json(std::string("cloudflare/") + f);
        ASSERT_TRUE(j.is_object());
        const bool google = std::string(f).find("google") != std::string::npos;
        MerkleTree t;
        t.reset(google ? 64 : 32);
        std::vector<Bytes> reqs;
        for (const auto& r : j["request"]) reqs.push_back(hex(r.get<std::string>()));
        for (const auto& r : reqs) {
            auto m = parse_message(google ? std::span<const std::byte>(r) : *unframe(r));
            t.add_leaf(*m->find(tag::NONC));
        }
        t.finish();
        for (std::size_t i = 0; i < reqs.size(); ++i) {
            const Bytes rep = hex(j["replies"][i].get<std::string>());
            auto m = parse_message(google ? std::span<const std::byte>(rep) : *unframe(rep));
            ASSERT_TRUE(m);
            auto srep = m->message(tag::SREP);
            EXPECT_EQ(to_bytes(t.root().span()), to_bytes(*srep->find(tag::ROOT)));
            EXPECT_EQ(m->u32(tag::INDX), i);
            EXPECT_EQ(m->find(tag::PATH)->size(), t.depth() * (google ? 64 : 32));
            // Their PATH verifies with our code.
            auto nonce = parse_message(google ? std::span<const std::byte>(reqs[i]) : *unframe(reqs[i]))->find(tag::NONC);
            auto root = root_from_path(leaf_hash(*nonce, google ? 64 : 32), *m->find(tag::PATH), *m->u32(tag::INDX));
            ASSERT_TRUE(root);
            EXPECT_EQ(to_bytes(root->span()), to_bytes(*srep->find(tag::ROOT)));
        }
    }
}

TEST(RoughtimeMerkle, EveryLeafOfEveryTreeVerifies) {
    std::mt19937_64 rng(test_seed("roughtime_merkle_test"));
    MerkleTree t;
    std::array<std::byte, kMaxPathLength * kMaxHashSize> path{};
    for (std::size_t n = 1; n <= 70; ++n) {
        const std::size_t hs = n % 2 ? 32 : 64;
        t.reset(hs);
        std::vector<Bytes> leaves(n, Bytes(32));
        for (auto& l : leaves) {
            for (auto& b : l) b = static_cast<std::byte>(rng());
            t.add_leaf(l);
        }
        t.finish();
        std::size_t depth = 0;
        while ((std::size_t{1} << depth) < n) ++depth;
        ASSERT_EQ(t.depth(), depth) << n;
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t len = t.path(i, path);
            ASSERT_EQ(len, depth * hs);
            auto root = root_from_path(leaf_hash(leaves[i], hs), std::span<const std::byte>(path).first(len),
                                       static_cast<std::uint32_t>(i));
            ASSERT_TRUE(root);
            EXPECT_EQ(*root, t.root()) << "n=" << n << " i=" << i;
            // Another leaf's data, or another index inside the tree, does not lead to the root.
            if (n > 1) {
                auto wrong = root_from_path(leaf_hash(leaves[(i + 1) % n], hs),
                                            std::span<const std::byte>(path).first(len), static_cast<std::uint32_t>(i));
                EXPECT_FALSE(*wrong == t.root());
            }
        }
    }
}

TEST(RoughtimeMerkle, IndexBitsBeyondThePathAreRejected) {
    const Hash leaf = leaf_hash(hex("01020304"), 32);
    EXPECT_TRUE(root_from_path(leaf, {}, 0));
    EXPECT_EQ(root_from_path(leaf, {}, 1).error(), PathError::Index);
    const Bytes path(3 * 32);
    EXPECT_TRUE(root_from_path(leaf, path, 7));
    EXPECT_EQ(root_from_path(leaf, path, 8).error(), PathError::Index);
    EXPECT_EQ(root_from_path(leaf, path, 0x80000000u).error(), PathError::Index);
    EXPECT_EQ(root_from_path(leaf, Bytes(31), 0).error(), PathError::PathLength);
    EXPECT_EQ(root_from_path(leaf, Bytes(33 * 32), 0).error(), PathError::PathLength);
    EXPECT_TRUE(root_from_path(leaf, Bytes(32 * 32), 0xffffffffu));  // a full-depth path uses every bit
    EXPECT_FALSE(to_string(PathError::Index).empty());
}

TEST(RoughtimeMerkle, SingleLeafTreeIsItsLeaf) {
    MerkleTree t;
    t.reset(32);
    t.add_leaf(hex("aabbccdd"));
    t.finish();
    EXPECT_EQ(t.depth(), 0u);
    EXPECT_EQ(t.root(), leaf_hash(hex("aabbccdd"), 32));
    std::array<std::byte, 1> none{};
    EXPECT_EQ(t.path(0, none), 0u);
    MerkleTree empty;
    empty.reset(32);
    empty.finish();
    EXPECT_EQ(empty.root().size, 0u);
}

}  // namespace
}  // namespace timepipe::roughtime
