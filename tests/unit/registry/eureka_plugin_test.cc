#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <thread>

#include "http/client.h"
#include "registry/eureka/codec.h"
#include "registry/eureka/plugin.h"

namespace sluice::registry::eureka {
namespace {

ServerFlagValues flagsWith(std::map<std::string, std::string> given) {
  std::map<std::string, std::string> values;
  for (const auto& f : plugin().server->flags) values[f.name] = f.default_value;
  for (auto& [k, v] : given) values[k] = v;
  return ServerFlagValues(std::move(values));
}

TEST(EurekaPlugin, DeclaresTheWatcherTheServerAndTheRewriter) {
  const Plugin& p = plugin();
  EXPECT_EQ(p.name, "eureka");
  ASSERT_TRUE(p.server);
  EXPECT_EQ(p.server->default_listen, "127.0.0.1:8761");
  ASSERT_NE(p.rewriter, nullptr);
  EXPECT_EQ(p.rewriter->registry(), "eureka");
  auto watcher = p.make_watcher("eureka://127.0.0.1:1/eureka");
  ASSERT_TRUE(watcher) << watcher.error().message;
  EXPECT_FALSE(p.make_watcher("eureka://127.0.0.1:1?bogus=1"));
}

TEST(EurekaPlugin, ServerFlagsReachTheServer) {
  asio::io_context io;
  auto server = plugin().server->make(io, flagsWith({{"--eureka-lease-duration-ms", "7000"}}));
  ASSERT_TRUE(server) << server.error().message;
  auto bound = (*server)->start(net::HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(bound) << bound.error().message;
  std::thread thread([&] { io.run(); });

  EurekaInstance inst;
  inst.app = "A";
  inst.instance_id = "a1";
  inst.host_name = "127.0.0.1";
  inst.ip_addr = "127.0.0.1";
  inst.port = 80;  // leaseInfo without durationInSecs: the flag decides
  http::ClientRequest reg;
  reg.method = "POST";
  reg.url = "http://" + bound->toString() + "/eureka/apps/A";
  reg.body = encodeInstance(inst, Format::kJson);
  reg.headers.set("Content-Type", "application/json");
  auto r = http::fetchBlocking(reg);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->head.status, 204) << r->body;
  http::ClientRequest read;
  read.url = "http://" + bound->toString() + "/eureka/apps/A/a1";
  read.headers.set("Accept", "application/json");
  auto got = http::fetchBlocking(read);
  ASSERT_TRUE(got);
  auto decoded = decodeInstance(got->body);
  ASSERT_TRUE(decoded) << got->body;
  EXPECT_EQ(decoded->lease.duration_secs, 7);

  asio::post(io, [&] {
    (*server)->stop();
    io.stop();
  });
  thread.join();
}

TEST(EurekaPlugin, BadFlagValuesAreErrorsNamingTheFlag) {
  asio::io_context io;
  auto server = plugin().server->make(io, flagsWith({{"--eureka-eviction-interval-ms", "soon"}}));
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message.find("--eureka-eviction-interval-ms"), std::string::npos)
      << server.error().message;
}

}  // namespace
}  // namespace sluice::registry::eureka
