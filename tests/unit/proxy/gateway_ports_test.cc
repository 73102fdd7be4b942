#include "proxy/gateway_ports.h"

#include <gtest/gtest.h>

namespace sluice::proxy {
namespace {

TEST(GatewayPorts, ServerPortPlusOffsetInRange) {
  GatewayPorts ports(18000, false);
  EXPECT_EQ(ports.port(80), 18080);
  EXPECT_EQ(ports.port(60000), std::nullopt) << "78000 is out of range";
  GatewayPorts negative(-80, false);
  EXPECT_EQ(negative.port(80), std::nullopt) << "port 0 is not a fixed port";
  auto r = negative.open(80, [](uint16_t) -> Result<uint16_t> { return 1; });
  EXPECT_FALSE(r.has_value());
}

TEST(GatewayPorts, EphemeralFirstOpenChoosesTheOthersJoin) {
  GatewayPorts ports(0, true);
  EXPECT_EQ(ports.port(80), 0) << "not opened yet";
  std::vector<uint16_t> asked;
  auto bind = [&](uint16_t p) -> Result<uint16_t> {
    asked.push_back(p);
    return p == 0 ? uint16_t{41234} : p;
  };
  ASSERT_EQ(ports.open(80, bind).value(), 41234);
  ASSERT_EQ(ports.open(80, bind).value(), 41234);
  EXPECT_EQ(asked, (std::vector<uint16_t>{0, 41234}));
  EXPECT_EQ(ports.port(80), 41234);
  EXPECT_EQ(ports.port(81), 0) << "each server port gets its own";
}

TEST(GatewayPorts, EphemeralFailedBindRecordsNothing) {
  GatewayPorts ports(0, true);
  auto fail = [](uint16_t) -> Result<uint16_t> {
    return makeError(ErrorCode::kIo, ErrorSource::kConfig, "no");
  };
  EXPECT_FALSE(ports.open(80, fail).has_value());
  EXPECT_EQ(ports.port(80), 0);
}

}  // namespace
}  // namespace sluice::proxy
