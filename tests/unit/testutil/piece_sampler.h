#pragma once
// Deterministic random inputs for the differential parser tests (one shot vs fed in pieces): byte
// strings glued from a test's vocabulary of pieces. A linear congruential generator rather than
// <random>'s engines and distributions, whose output the standard leaves to the library: the
// same seed must give the same inputs on every machine, so a failure reproduces.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace sluice::testutil {

class PieceSampler {
 public:
  PieceSampler(std::vector<std::string> pieces, uint32_t seed)
      : pieces_(std::move(pieces)), state_(seed) {}

  // A random number (24 bits).
  uint32_t draw() {
    state_ = state_ * 1664525u + 1013904223u;
    return state_ >> 8;
  }

  // Fewer than `max_pieces` pieces, each drawn at random, concatenated.
  std::string next(size_t max_pieces) {
    std::string out;
    size_t count = draw() % max_pieces;
    for (size_t k = 0; k < count; ++k) out += pieces_[draw() % pieces_.size()];
    return out;
  }

 private:
  std::vector<std::string> pieces_;
  uint32_t state_;
};

}  // namespace sluice::testutil
