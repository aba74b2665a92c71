// What nearly every unit test includes, precompiled once per build tree (Makefile: -include of a
// copy beside its .gch/.pch): GoogleTest and nlohmann (through libtime/stream/codec.hpp) are most
// of a test file's compile time. Only headers from outside the tree: a test's own includes
// still say what it uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
