#include "config/analyze.h"

#include <gtest/gtest.h>

#include <sstream>

#include "config/loader.h"

namespace sluice::config {
namespace {

const char* kBadSubset = R"(apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: sp}
spec:
  host: service-provider
  subsets:
  - name: v1
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: sp}
spec:
  hosts: [service-provider]
  http:
  - route:
    - destination:
        host: service-provider
        subset: v3
)";

TEST(AnalyzeTest, TextReportAndSummary) {
  ConfigSet set = loadString(kBadSubset, "vs.yaml");
  std::string text = formatText(set);
  EXPECT_NE(text.find("error[IST0101]: vs.yaml:18:17: VirtualService/default/sp: "
                      "spec.http[0].route[0].destination.subset: Referenced host+subset in "
                      "destinationrule not found: \"service-provider+v3\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("1 error, 0 warnings in 2 resources from 1 file\n"), std::string::npos)
      << text;
  EXPECT_EQ(analyzeExitCode(set), 1);
}

TEST(AnalyzeTest, JsonReport) {
  ConfigSet set = loadString(kBadSubset, "vs.yaml");
  auto j = toJson(set);
  ASSERT_EQ(j["diagnostics"].size(), 1u);
  const auto& d = j["diagnostics"][0];
  EXPECT_EQ(d["severity"], "error");
  EXPECT_EQ(d["file"], "vs.yaml");
  EXPECT_EQ(d["line"], 18);
  EXPECT_EQ(d["column"], 17);
  EXPECT_EQ(d["kind"], "VirtualService");
  EXPECT_EQ(d["namespace"], "default");
  EXPECT_EQ(d["name"], "sp");
  EXPECT_EQ(d["field"], "spec.http[0].route[0].destination.subset");
  EXPECT_EQ(d["code"], "IST0101");
  EXPECT_EQ(j["summary"]["errors"], 1);
  EXPECT_EQ(j["summary"]["resources"], 2);
}

TEST(AnalyzeTest, ExitCodes) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(runAnalyze({std::string(SLUICE_SOURCE_DIR) + "/examples/seed"}, AnalyzeOutput::kText,
                       out, err),
            0)
      << out.str();
  EXPECT_EQ(runAnalyze({"/nonexistent.yaml"}, AnalyzeOutput::kText, out, err), 2);
  EXPECT_NE(err.str().find("/nonexistent.yaml"), std::string::npos);
}

}  // namespace
}  // namespace sluice::config
