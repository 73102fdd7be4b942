// Each YAML document is read on its own: a broken document (YAML syntax, junk bytes, a missing
// envelope field) is reported at its own file line and cannot hide the documents around it.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

using testing::doc;
using testing::dump;
using testing::hasError;

// The seed's listing of external-nacos-svc.yaml, verbatim: it has no apiVersion line.
constexpr std::string_view kSeedNacosServiceEntry = R"(kind: ServiceEntry
metadata:
  name: external-nacos-svc
spec:
  hosts:
  - "<your-nacos-server-host>" # Example: mse-xxx-p.nacos-ans.mse.aliyuncs.com
  location: MESH_EXTERNAL
  ports:
  - number: 8848
    name: http
  resolution: DNS
)";

TEST(PerDocumentTest, ABrokenDocumentDoesNotHideTheDocumentsAroundIt) {
  const std::string text =
      doc("ServiceEntry", "before", "hosts: [a.example.com]\nresolution: DNS") +
      "kind: VirtualService\nspec: {hosts: [x\n---\n" +
      doc("DestinationRule", "after", "host: a.example.com");
  auto set = loadString(text, "mixed.yaml");
  ASSERT_EQ(set.service_entries.size(), 1u) << dump(set);
  ASSERT_EQ(set.destination_rules.size(), 1u) << dump(set);
  // The broken document is lines 10-11 of the file; its error points there, not to line 1-2.
  ASSERT_TRUE(hasError(set, "YAML syntax error")) << dump(set);
  const auto* syntax = testing::find(set, Severity::kError, "YAML syntax error").front();
  EXPECT_GE(syntax->pos.line, 10) << dump(set);
  EXPECT_LE(syntax->pos.line, 12) << dump(set);
  EXPECT_EQ(syntax->resource_pos.line, 0) << "a syntax error belongs to no resource";
  // Positions of later documents are lines of the file.
  EXPECT_EQ(set.destination_rules[0].meta.pos.line, 13) << dump(set);
}

TEST(PerDocumentTest, JunkBytesInOneDocumentAreReportedThere) {
  const std::string text =
      doc("ServiceEntry", "ok", "hosts: [a.example.com]\nresolution: DNS") + "kind: \x01\n---\n";
  auto set = loadString(text, "junk.yaml");
  EXPECT_EQ(set.service_entries.size(), 1u) << dump(set);
  EXPECT_TRUE(hasError(set, "junk.yaml:10:")) << dump(set);
}

TEST(PerDocumentTest, TheSeedServiceEntryWithoutApiVersionIsNamedInItsError) {
  auto set = loadString(std::string(kSeedNacosServiceEntry) + "---\n" +
                            doc("DestinationRule", "dr", "host: service-provider"),
                        "external-nacos-svc.yaml");
  EXPECT_TRUE(set.service_entries.empty());
  EXPECT_EQ(set.destination_rules.size(), 1u) << dump(set);
  EXPECT_TRUE(hasError(set,
                       "external-nacos-svc.yaml:1:1: ServiceEntry/default/external-nacos-svc: "
                       "apiVersion: apiVersion is required"))
      << dump(set);
}

TEST(PerDocumentTest, DocumentEndMarkersAndDirectivesSplitToo) {
  const std::string text =
      "%YAML 1.2\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\n"
      "metadata: {name: one}\nspec: {host: a}\n...\n%YAML 1.2\n---\n" +
      doc("DestinationRule", "two", "host: b");
  auto set = loadString(text, "markers.yaml");
  EXPECT_EQ(set.destination_rules.size(), 2u) << dump(set);
}

TEST(PerDocumentTest, DigestIsStablePerTextAndChangesWithIt) {
  const std::string a = doc("DestinationRule", "dr", "host: a");
  const std::string b = doc("DestinationRule", "dr", "host: b");
  // The same document after another one that changes (it moves down a line) keeps its digest.
  auto first = loadString(doc("ServiceEntry", "se", "hosts: [x.example.com]") + a, "f.yaml");
  auto again = loadString(doc("ServiceEntry", "se", "hosts: [x.example.com]\nresolution: DNS") + a,
                          "f.yaml");
  auto changed = loadString(doc("ServiceEntry", "se", "hosts: [x.example.com]") + b, "f.yaml");
  ASSERT_EQ(first.destination_rules.size(), 1u);
  ASSERT_EQ(again.destination_rules.size(), 1u);
  ASSERT_EQ(changed.destination_rules.size(), 1u);
  EXPECT_NE(first.destination_rules[0].meta.digest, 0u);
  EXPECT_NE(first.destination_rules[0].meta.pos, again.destination_rules[0].meta.pos);
  EXPECT_EQ(first.destination_rules[0].meta.digest, again.destination_rules[0].meta.digest);
  EXPECT_NE(first.destination_rules[0].meta.digest, changed.destination_rules[0].meta.digest);
  EXPECT_NE(first.service_entries[0].meta.digest, again.service_entries[0].meta.digest);
}

TEST(PerDocumentTest, ResourceErrorsCarryTheirDocumentPosition) {
  auto set = loadString(
      doc("DestinationRule", "ok", "host: a") + doc("DestinationRule", "bad", "host: b\nbogus: 1"),
      "f.yaml");
  const auto errors = testing::find(set, Severity::kError, "bogus");
  ASSERT_EQ(errors.size(), 1u) << dump(set);
  EXPECT_EQ(errors[0]->kind, "DestinationRule");
  ASSERT_EQ(set.destination_rules.size(), 2u);
  EXPECT_EQ(errors[0]->resource_pos, set.destination_rules[1].meta.pos);
}

}  // namespace
}  // namespace sluice::config
