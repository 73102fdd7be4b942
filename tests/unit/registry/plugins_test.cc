// The registry plug-in table: what control and the CLI rely on for every registry.
#include "registry/plugins.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <set>

namespace sluice::registry {
namespace {

TEST(RegistryPlugins, NamesAreUniqueLowercaseAndEachHasAWatcherAndAUrlSyntax) {
  ASSERT_FALSE(plugins().empty());
  EXPECT_EQ(plugins().front()->name, "nacos");  // the default protocol of `sluice registry`
  std::set<std::string> names;
  for (const Plugin* p : plugins()) {
    EXPECT_TRUE(names.insert(p->name).second) << "duplicate plug-in " << p->name;
    for (char c : p->name) EXPECT_FALSE(c >= 'A' && c <= 'Z') << p->name;
    EXPECT_TRUE(p->make_watcher) << p->name;
    EXPECT_EQ(p->url_syntax.rfind(p->name + "://", 0), 0u) << p->url_syntax;
    if (p->rewriter) {
      EXPECT_EQ(p->rewriter->registry(), p->name);
    }
    if (p->stream_rewriter) {
      EXPECT_EQ(p->stream_rewriter->registry(), p->name);
      EXPECT_EQ(p->rewriter, nullptr) << p->name << ": one way of intercepting per registry";
    }
    if (p->grpc_rewriter) {
      EXPECT_EQ(p->grpc_rewriter->registry(), p->name);
    }
  }
}

TEST(RegistryPlugins, ServerFlagsAreUniqueAcrossPluginsAndHaveValidDefaults) {
  std::set<std::string> flags;
  for (const Plugin* p : plugins()) {
    if (!p->server) continue;
    EXPECT_FALSE(p->server->default_listen.empty()) << p->name;
    EXPECT_TRUE(p->server->make) << p->name;
    for (const auto& f : p->server->flags) {
      EXPECT_EQ(f.name.rfind("--", 0), 0u) << f.name;
      EXPECT_NE(f.name, "--listen");
      EXPECT_NE(f.name, "--protocol");
      EXPECT_TRUE(flags.insert(f.name).second) << p->name << " reuses " << f.name;
      if (f.int_range) {
        auto v = ServerFlagValues(std::map<std::string, std::string>{{f.name, f.default_value}})
                     .getInt(f.name);
        ASSERT_TRUE(v) << f.name << ": " << v.error().message;
        EXPECT_GE(*v, f.int_range->first) << f.name;
        EXPECT_LE(*v, f.int_range->second) << f.name;
      }
    }
  }
}

TEST(RegistryPlugins, FindIsCaseInsensitiveAndSupportedUrlsNameEveryPlugin) {
  EXPECT_EQ(findPlugin("NACOS"), findPlugin("nacos"));
  ASSERT_NE(findPlugin("nacos"), nullptr);
  EXPECT_EQ(findPlugin("gopher"), nullptr);
  for (const Plugin* p : plugins()) {
    EXPECT_NE(supportedUrls().find(p->name + "://"), std::string::npos) << p->name;
  }
}

TEST(ServerFlagValues, IntegersAndStrings) {
  ServerFlagValues v(std::map<std::string, std::string>{
      {"--n", "42"}, {"--neg", "-3"}, {"--s", "x"}, {"--bad", "4a"}});
  EXPECT_EQ(*v.getInt("--n"), 42);
  EXPECT_EQ(*v.getInt("--neg"), -3);
  EXPECT_EQ(v.get("--s"), "x");
  EXPECT_EQ(v.get("--absent"), "");
  auto bad = v.getInt("--bad");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("--bad"), std::string::npos);
}

TEST(NacosPlugin, WatcherFromUrlAndServerFromDefaultFlags) {
  const Plugin* nacos = findPlugin("nacos");
  ASSERT_NE(nacos, nullptr);
  EXPECT_TRUE(nacos->make_watcher("nacos://127.0.0.1:1?namespace=dev"));
  auto bad = nacos->make_watcher("nacos://h:1?namespce=dev");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("namespce"), std::string::npos) << bad.error().message;

  ASSERT_TRUE(nacos->server);
  std::map<std::string, std::string> defaults;
  for (const auto& f : nacos->server->flags) defaults[f.name] = f.default_value;
  asio::io_context io;
  auto server = nacos->server->make(io, ServerFlagValues(defaults));
  ASSERT_TRUE(server) << server.error().message;
  auto bound = (*server)->start(net::HostPort{"127.0.0.1", 0});
  ASSERT_TRUE(bound) << bound.error().message;
  EXPECT_NE(bound->port, 0);
  (*server)->stop();

  defaults["--cache-millis"] = "soon";
  auto rejected = nacos->server->make(io, ServerFlagValues(defaults));
  ASSERT_FALSE(rejected);
  EXPECT_NE(rejected.error().message.find("--cache-millis"), std::string::npos);
}

TEST(NacosPlugin, RewriterThroughTheInterceptionInterface) {
  const Plugin* nacos = findPlugin("nacos");
  ASSERT_NE(nacos, nullptr);
  ASSERT_NE(nacos->rewriter, nullptr);
  ASSERT_NE(nacos->grpc_rewriter, nullptr);
  EXPECT_EQ(nacos->grpc_rewriter->grpcPort(8848), 9848);
  const http::InterceptionRewriter& rw = *nacos->rewriter;

  http::RequestHead list;
  list.method = "GET";
  list.target = list.path = "/nacos/v1/ns/instance/list?serviceName=svc&udpPort=53";
  list.headers.set("accept-encoding", "gzip");
  EXPECT_TRUE(rw.appliesTo(list));
  http::RequestHead beat = list;
  beat.method = "PUT";
  beat.target = beat.path = "/nacos/v1/ns/instance/beat";
  EXPECT_FALSE(rw.appliesTo(beat));

  rw.prepareRequest(list);
  EXPECT_NE(list.target.find("udpPort=0"), std::string::npos) << list.target;
  EXPECT_EQ(list.target.find("udpPort=53"), std::string::npos) << list.target;
  EXPECT_FALSE(list.headers.get("accept-encoding"));
  EXPECT_GE(rw.maxBodyBytes(), size_t{1024 * 1024});

  http::ResponseHead ok;
  auto r = rw.rewriteResponseBody(
      list, ok, R"({"name":"DEFAULT_GROUP@@svc","hosts":[{"ip":"10.0.0.1","port":80}]})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->service, "svc");
  EXPECT_EQ(r->addresses_rewritten, 1);
  EXPECT_EQ(nlohmann::json::parse(r->body)["hosts"][0]["ip"], "svc");
  EXPECT_FALSE(rw.rewriteResponseBody(list, ok, "<html>error</html>"));
}

}  // namespace
}  // namespace sluice::registry
