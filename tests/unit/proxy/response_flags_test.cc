#include "proxy/response_flags.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(ResponseFlags, NoneIsADash) {
  ResponseFlags none;
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(none.toString(), "-");
  none.add(ResponseFlag::kNone);
  EXPECT_TRUE(none.empty());
}

TEST(ResponseFlags, SeveralPrintInOneFixedOrderCommaSeparated) {
  ResponseFlags f;
  f.add(ResponseFlag::kUpstreamRetryLimitExceeded);
  f.add(ResponseFlag::kUpstreamConnectionFailure);
  f.add(ResponseFlag::kUpstreamConnectionFailure);
  EXPECT_EQ(f.toString(), "UF,URX");
  EXPECT_TRUE(f.has(ResponseFlag::kUpstreamConnectionFailure));
  EXPECT_FALSE(f.has(ResponseFlag::kDownstreamConnectionTermination));
  ResponseFlags delay_then_abort;
  delay_then_abort.add(ResponseFlag::kDelayInjected);
  delay_then_abort.add(ResponseFlag::kFaultInjected);
  EXPECT_EQ(delay_then_abort.toString(), "FI,DI");
}

TEST(ResponseFlags, ASingleFlagConverts) {
  ResponseFlags dc = ResponseFlag::kDownstreamConnectionTermination;
  EXPECT_EQ(dc.toString(), "DC");
}

}  // namespace
}  // namespace sluice::proxy
