#include "proxy/grpc.h"

#include <gtest/gtest.h>

#include "proxy/route_table.h"

namespace sluice::proxy {
namespace {

http::Headers with(std::string_view name, std::string_view value) {
  http::Headers h;
  h.add(name, value);
  return h;
}

TEST(Grpc, RecognisesGrpcContentTypes) {
  EXPECT_TRUE(grpc::isGrpc(with("content-type", "application/grpc")));
  EXPECT_TRUE(grpc::isGrpc(with("Content-Type", "application/grpc+proto")));
  EXPECT_FALSE(grpc::isGrpc(with("content-type", "application/json")));
  EXPECT_FALSE(grpc::isGrpc(http::Headers{}));
}

TEST(Grpc, ParsesGrpcTimeoutInEveryUnitAndRejectsMalformedOnes) {
  using std::chrono::milliseconds;
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "2H")), milliseconds(7'200'000));
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "3M")), milliseconds(180'000));
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "5S")), milliseconds(5000));
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "250m")), milliseconds(250));
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "1500u")), milliseconds(2));  // rounded up
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "99999999n")), milliseconds(100));
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "123456789m")), std::nullopt);  // 9 digits
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "10x")), std::nullopt);
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "m")), std::nullopt);
  EXPECT_EQ(grpc::timeoutOf(with("grpc-timeout", "-5S")), std::nullopt);
  EXPECT_EQ(grpc::timeoutOf(http::Headers{}), std::nullopt);
}

TEST(Grpc, StatusNamesAndHttpMapping) {
  EXPECT_EQ(grpc::codeForName("OK"), 0);
  EXPECT_EQ(grpc::codeForName("RESOURCE_EXHAUSTED"), 8);
  EXPECT_EQ(grpc::codeForName("UNAVAILABLE"), 14);
  EXPECT_EQ(grpc::codeForName("UNAUTHENTICATED"), 16);
  EXPECT_EQ(grpc::codeForName("NOPE"), -1);
  EXPECT_EQ(grpc::codeForHttpStatus(404), 12);
  EXPECT_EQ(grpc::codeForHttpStatus(503), 14);
  EXPECT_EQ(grpc::codeForHttpStatus(504), 14);
  EXPECT_EQ(grpc::codeForHttpStatus(418), 2);
  EXPECT_EQ(grpc::statusOf(with("grpc-status", "14")), 14);
  EXPECT_EQ(grpc::statusOf(with("grpc-status", "x")), -1);
  EXPECT_EQ(grpc::statusOf(http::Headers{}), -1);
}

TEST(Grpc, LocalReplyBecomesATrailersOnlyGrpcAnswer) {
  LocalReply r = LocalReply::upstreamTimeout();
  LocalReply g = grpc::asGrpcReply(r);
  EXPECT_EQ(g.status, 200);
  EXPECT_TRUE(g.body.empty());
  EXPECT_EQ(*g.headers.get("content-type"), "application/grpc");
  EXPECT_EQ(*g.headers.get("grpc-status"), "4") << "the proxy's timeout is DEADLINE_EXCEEDED";
  EXPECT_FALSE(g.headers.get("grpc-message")->empty());
  EXPECT_EQ(g.flag, r.flag);
  EXPECT_EQ(*grpc::asGrpcReply(LocalReply::upstreamReset()).headers.get("grpc-status"), "14");
  LocalReply text;
  text.status = 500;
  text.body = "50% bad\n";
  EXPECT_EQ(*grpc::asGrpcReply(text, 8).headers.get("grpc-message"), "50%25 bad");
  EXPECT_EQ(*grpc::asGrpcReply(text, 8).headers.get("grpc-status"), "8");
}

TEST(Grpc, RetryOnGrpcPoliciesRetryTheirStatusesOnly) {
  RetryPolicy p =
      RetryPolicy::parse(3, "unavailable,deadline-exceeded,resource-exhausted,cancelled");
  EXPECT_TRUE(p.unsupported.empty());
  EXPECT_TRUE(p.shouldRetryGrpc(14));
  EXPECT_TRUE(p.shouldRetryGrpc(4));
  EXPECT_TRUE(p.shouldRetryGrpc(8));
  EXPECT_TRUE(p.shouldRetryGrpc(1));
  EXPECT_FALSE(p.shouldRetryGrpc(13));
  EXPECT_FALSE(p.shouldRetryGrpc(0));
  EXPECT_FALSE(p.shouldRetryGrpc(-1));
  EXPECT_FALSE(RetryPolicy::parse(3, "5xx").shouldRetryGrpc(14));
  EXPECT_TRUE(RetryPolicy::istioDefault().shouldRetryGrpc(14)) << "Istio's default has unavailable";
  EXPECT_TRUE(RetryPolicy::istioDefault().shouldRetryGrpc(1)) << "and cancelled";
  EXPECT_FALSE(RetryPolicy::none().shouldRetryGrpc(14));
}

}  // namespace
}  // namespace sluice::proxy
