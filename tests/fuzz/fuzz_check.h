#pragma once
// What every target shares: the libFuzzer entry point's signature and a check that stops the run
// with a message when a property the parser promises does not hold (libFuzzer then saves the input
// as crash-<sha1>). Checks are for invariants of the code under test, never for the input.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#define SLUICE_FUZZ_CHECK(cond)                                                          \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (false)

namespace sluice::fuzz {

inline std::string_view asView(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace sluice::fuzz
