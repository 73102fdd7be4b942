// The seed scenario's YAML must load verbatim with no errors.

#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

using testing::dump;
using testing::find;

TEST(SeedTest, SeedDirectoryLoadsWithoutErrors) {
  ConfigSet set = loadPaths({std::string(SLUICE_SOURCE_DIR) + "/examples/seed"});
  EXPECT_TRUE(set.io_errors.empty());
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_EQ(set.files_read, 7u);
  EXPECT_EQ(set.virtual_services.size(), 2u);
  EXPECT_EQ(set.destination_rules.size(), 1u);
  EXPECT_EQ(set.gateways.size(), 1u);
  EXPECT_EQ(set.service_entries.size(), 1u);
  EXPECT_EQ(set.envoy_filters.size(), 2u);

  ASSERT_EQ(set.reverse_dns.size(), 1u);
  EXPECT_EQ(set.reverse_dns[0].port, 8070);
  EXPECT_EQ(set.reverse_dns[0].pod_cidrs.at(0).toString(), "10.0.128.0/18");
  ASSERT_EQ(set.registry_interception.size(), 1u);
  EXPECT_EQ(set.registry_interception[0].port, 8848);

  // The ServiceEntry's DNS resolution is enforced (the host is resolved when connecting): the
  // seed loads without a single warning.
  EXPECT_TRUE(find(set, Severity::kWarning, "spec.resolution=DNS").empty()) << dump(set);
  EXPECT_EQ(set.warningCount(), 0u) << dump(set);
}

TEST(SeedTest, ProviderRoutesResolveToSubsets) {
  ConfigSet set = loadPaths({std::string(SLUICE_SOURCE_DIR) + "/examples/seed"});
  const VirtualService* provider = nullptr;
  for (auto& vs : set.virtual_services) {
    if (vs.meta.name == "service-provider") provider = &vs;
  }
  ASSERT_NE(provider, nullptr);
  ASSERT_EQ(provider->http.size(), 2u);
  EXPECT_EQ(provider->http[0].match.at(0).uri->value, "/echo/hello");
  EXPECT_EQ(provider->http[0].route.at(0).destination.host_fqdn,
            "service-provider.default.svc.cluster.local");
  EXPECT_EQ(provider->http[0].route.at(0).destination.subset, "v1");
  EXPECT_TRUE(provider->http[1].match.empty());
  EXPECT_EQ(provider->http[1].route.at(0).destination.subset, "v2");
}

// Examples in the style of istio.io's documentation (every kind, most fields): no false errors.
TEST(ValidCorpusTest, IstioDocumentationExamplesLoadWithoutErrors) {
  ConfigSet set = loadPaths({std::string(SLUICE_SOURCE_DIR) + "/tests/data/config/valid"});
  EXPECT_TRUE(set.io_errors.empty());
  EXPECT_EQ(set.errorCount(), 0u) << dump(set);
  EXPECT_EQ(set.resourceCount(), 12u);
  // Every warning is a "parsed but not enforced" notice.
  EXPECT_EQ(find(set, Severity::kWarning, "parsed but not enforced").size(), set.warningCount())
      << dump(set);
}

}  // namespace
}  // namespace sluice::config
