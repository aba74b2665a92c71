#include "libtime/roughtime/merkle.hpp"

#include <algorithm>

#include "libtime/base/crypto.hpp"

namespace timepipe::roughtime {
namespace {

constexpr std::array<std::byte, 1> kLeafPrefix{std::byte{0x00}};
constexpr std::array<std::byte, 1> kNodePrefix{std::byte{0x01}};

Hash truncate(const crypto::Sha512Digest& d, std::size_t size) {
    Hash h;
    h.size = std::min(size, kMaxHashSize);
    std::copy_n(d.begin(), h.size, h.bytes.begin());
    return h;
}

}  // namespace

Hash leaf_hash(std::span<const std::byte> data, std::size_t hash_size) {
    return truncate(crypto::Sha512().update(kLeafPrefix).update(data).finish(), hash_size);
}

Hash node_hash(std::span<const std::byte> left, std::span<const std::byte> right, std::size_t hash_size) {
    return truncate(crypto::Sha512().update(kNodePrefix).update(left).update(right).finish(), hash_size);
}

std::string_view to_string(PathError e) {
    switch (e) {
    case PathError::PathLength: return "PATH not a whole number of hashes or too long";
    case PathError::Index: return "INDX has bits beyond the PATH";
    }
    return "unknown path error";
}

Expected<Hash, PathError> root_from_path(const Hash& leaf, std::span<const std::byte> path, std::uint32_t index) {
    const std::size_t hs = leaf.size;
    if (hs == 0 || path.size() % hs != 0 || path.size() / hs > kMaxPathLength)
        return unexpected(PathError::PathLength);
    const std::size_t depth = path.size() / hs;
    // RFC 10049 §5.4: once the PATH is used up, the remaining INDX bits must all be zero.
    if (depth < 32 && (index >> depth) != 0) return unexpected(PathError::Index);
    Hash h = leaf;
    for (std::size_t i = 0; i < depth; ++i) {
        const auto sibling = path.subspan(i * hs, hs);
        h = (index & 1) == 0 ? node_hash(h.span(), sibling, hs) : node_hash(sibling, h.span(), hs);
        index >>= 1;
    }
    return h;
}

void MerkleTree::reset(std::size_t hash_size) {
    hash_size_ = std::min(hash_size, kMaxHashSize);
    leaf_count_ = 0;
    levels_ = 0;
    nodes_.clear();
}

void MerkleTree::add_leaf(std::span<const std::byte> data) { add_leaf_hash(leaf_hash(data, hash_size_)); }

void MerkleTree::add_leaf_hash(const Hash& h) {
    nodes_.push_back(h);
    ++leaf_count_;
}

void MerkleTree::finish() {
    levels_ = 0;
    if (leaf_count_ == 0) return;
    level_begin_[0] = 0;
    level_width_[0] = leaf_count_;
    levels_ = 1;
    while (level_width_[levels_ - 1] > 1 && levels_ < level_begin_.size()) {
        const std::size_t begin = level_begin_[levels_ - 1];
        const std::size_t width = level_width_[levels_ - 1];
        // An odd level is completed with a copy of its first node, as Cloudflare's server does:
        // clients never see the difference, and our trees then match its test vectors.
        if (width % 2 == 1) {
            const Hash first = nodes_[begin];
            nodes_.push_back(first);
        }
        const std::size_t next_begin = nodes_.size();
        for (std::size_t j = 0; j + 1 < width + (width % 2); j += 2) {
            const Hash l = nodes_[begin + j];
            const Hash r = nodes_[begin + j + 1];
            nodes_.push_back(node_hash(l.span(), r.span(), hash_size_));
        }
        level_begin_[levels_] = next_begin;
        level_width_[levels_] = (width + 1) / 2;
        ++levels_;
    }
}

const Hash& MerkleTree::root() const {
    static const Hash kEmpty{};
    if (levels_ == 0) return kEmpty;
    return nodes_[level_begin_[levels_ - 1]];
}

std::size_t MerkleTree::path(std::size_t i, std::span<std::byte> out) const {
    const std::size_t need = depth() * hash_size_;
    if (out.size() < need || i >= leaf_count_) return 0;
    for (std::size_t level = 0; level + 1 < levels_; ++level) {
        const std::size_t sibling = i ^ 1;  // the padded copy exists when i is last of an odd level
        const Hash& h = nodes_[level_begin_[level] + sibling];
        std::copy_n(h.bytes.begin(), hash_size_, out.begin() + static_cast<std::ptrdiff_t>(level * hash_size_));
        i >>= 1;
    }
    return need;
}

}  // namespace timepipe::roughtime
