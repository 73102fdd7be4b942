#include "config/diagnostic_reporter.h"

#include <gtest/gtest.h>

namespace sluice::config {
namespace {

Meta resource() {
  Meta m;
  m.kind = "VirtualService";
  m.ns = "default";
  m.name = "vs";
  m.pos = Position{"a.yaml", 3, 1};
  return m;
}

TEST(DiagnosticReporterTest, NamesTheResourceAndFallsBackToItsPosition) {
  std::vector<Diagnostic> out;
  Meta meta = resource();
  DiagnosticReporter r(out, meta);
  r.error(Position{"a.yaml", 7, 5}, "spec.hosts[0]", "bad host", "IST0101");
  r.warn({}, "spec", "no position");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(formatDiagnosticLine(out[0]),
            "error[IST0101]: a.yaml:7:5: VirtualService/default/vs: spec.hosts[0]: bad host");
  EXPECT_EQ(formatDiagnosticLine(out[1]),
            "warning: a.yaml:3:1: VirtualService/default/vs: spec: no position");
}

// The loader fills metadata while it decodes it; reports carry what is known at that moment.
TEST(DiagnosticReporterTest, ReadsTheResourceAtEachReport) {
  std::vector<Diagnostic> out;
  Meta meta = resource();
  DiagnosticReporter r(out, meta);
  r.error({}, "metadata.namespace", "first");
  meta.ns = "other";
  r.error({}, "spec", "second");
  EXPECT_EQ(out[0].ns, "default");
  EXPECT_EQ(out[1].ns, "other");
}

TEST(DiagnosticReporterTest, FileLevelProblemsHaveNoResource) {
  std::vector<Diagnostic> out;
  DiagnosticReporter::forFile(out).error(Position{"b.yaml", 2, 4}, "", "YAML syntax error: x");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].kind.empty());
  EXPECT_EQ(formatDiagnosticLine(out[0]), "error: b.yaml:2:4: YAML syntax error: x");
}

}  // namespace
}  // namespace sluice::config
