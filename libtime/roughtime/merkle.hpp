// Roughtime's Merkle tree (RFC 10049 §5.3.4; Google-Roughtime PROTOCOL.md "Merkle tree"): one
// signature covers a whole batch of requests. Leaves are H(0x00 ‖ leaf data), nodes
// H(0x01 ‖ left ‖ right), H being SHA-512 truncated to the version's hash size (32 octets; 64, the
// whole digest, for Google-Roughtime). The leaf data is the request's nonce up to draft 11 and the
// whole request packet from draft 12 (see libtime/roughtime/version.hpp).
//
// A response carries its PATH (sibling hashes, leaf level first) and INDX: bit i of INDX says
// whether the node at level i is the left (0) or right (1) child. INDX bits beyond the PATH's
// depth must be zero (RFC 10049 §5.4).
//
//   MerkleTree t;  t.reset(32);
//   for (auto& r : batch) t.add_leaf(leaf_data(r));
//   t.finish();                 // t.root(), t.path(i, out) -> octets written
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "libtime/base/expected.hpp"

namespace timepipe::roughtime {

inline constexpr std::size_t kMaxHashSize = 64;
inline constexpr std::size_t kMaxPathLength = 32;  // INDX is a uint32: at most 2^32 leaves

struct Hash {
    std::array<std::byte, kMaxHashSize> bytes{};
    std::size_t size = 0;
    std::span<const std::byte> span() const { return std::span<const std::byte>(bytes).first(size); }
    friend bool operator==(const Hash& a, const Hash& b) {
        return a.size == b.size && std::equal(a.span().begin(), a.span().end(), b.span().begin());
    }
};

Hash leaf_hash(std::span<const std::byte> data, std::size_t hash_size);
Hash node_hash(std::span<const std::byte> left, std::span<const std::byte> right, std::size_t hash_size);

enum class PathError {
    PathLength,  // not a whole number of hashes, or more than kMaxPathLength of them
    Index,       // INDX bits set beyond the PATH's depth
};
std::string_view to_string(PathError e);

// The root that `leaf`, `path` and `index` lead to; compare it with ROOT.
Expected<Hash, PathError> root_from_path(const Hash& leaf, std::span<const std::byte> path, std::uint32_t index);

// A tree over a batch, built leaf by leaf. Storage is kept between batches.
class MerkleTree {
public:
    void reset(std::size_t hash_size);
    void add_leaf(std::span<const std::byte> data);  // hashes `data` as a leaf
    void add_leaf_hash(const Hash& h);
    // Builds the levels above the leaves. An odd level is completed with a copy of its first node.
    void finish();

    std::size_t leaves() const { return leaf_count_; }
    std::size_t depth() const { return levels_ == 0 ? 0 : levels_ - 1; }  // PATH length of every leaf
    const Hash& root() const;
    // Writes leaf i's PATH (depth() * hash_size octets) into out; returns the octets written, 0 if
    // `out` is too small.
    std::size_t path(std::size_t i, std::span<std::byte> out) const;

private:
    std::size_t hash_size_ = 32;
    std::size_t leaf_count_ = 0;
    std::vector<Hash> nodes_;  // level 0 (leaves), then level 1, ...
    std::array<std::size_t, kMaxPathLength + 2> level_begin_{};
    std::array<std::size_t, kMaxPathLength + 2> level_width_{};
    std::size_t levels_ = 0;
};

}  // namespace timepipe::roughtime
