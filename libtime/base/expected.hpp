// A minimal std::expected (C++23) for g++ 12: a value or the reason there is none.
// Hot paths return Expected<T, SomeEnum> so that failure never allocates or throws.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace timepipe {

template <class E>
struct Unexpected {
    E error;
};
template <class E>
Unexpected(E) -> Unexpected<E>;

template <class E>
constexpr Unexpected<std::decay_t<E>> unexpected(E&& e) { return {std::forward<E>(e)}; }

template <class T, class E>
class [[nodiscard]] Expected {
public:
    constexpr Expected(const T& v) : v_(std::in_place_index<0>, v) {}
    constexpr Expected(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
    template <class G>
    constexpr Expected(Unexpected<G> u) : v_(std::in_place_index<1>, E(std::move(u.error))) {}

    constexpr bool has_value() const noexcept { return v_.index() == 0; }
    constexpr explicit operator bool() const noexcept { return has_value(); }

    constexpr T& value() & { assert(has_value()); return std::get<0>(v_); }
    constexpr const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    constexpr T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    constexpr const E& error() const& { assert(!has_value()); return std::get<1>(v_); }
    constexpr E&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

    constexpr T& operator*() & { return value(); }
    constexpr const T& operator*() const& { return value(); }
    constexpr T* operator->() { return &value(); }
    constexpr const T* operator->() const { return &value(); }

    template <class U>
    constexpr T value_or(U&& fallback) const& { return has_value() ? value() : T(std::forward<U>(fallback)); }

private:
    std::variant<T, E> v_;
};

// Expected<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] Expected<void, E> {
public:
    constexpr Expected() = default;
    template <class G>
    constexpr Expected(Unexpected<G> u) : ok_(false), e_(std::move(u.error)) {}
    constexpr bool has_value() const noexcept { return ok_; }
    constexpr explicit operator bool() const noexcept { return ok_; }
    constexpr const E& error() const& { assert(!ok_); return e_; }

private:
    bool ok_ = true;
    E e_{};
};

}  // namespace timepipe
