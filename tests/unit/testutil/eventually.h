#pragma once
// Waiting on a condition with a deadline, the tests' replacement for sleeps.

#include <chrono>
#include <functional>

namespace sluice::testutil {

// Polls `pred` (about every 10 ms) until it holds or `timeout` passes; returns its last answer.
bool eventually(const std::function<bool()>& pred,
                std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace sluice::testutil
