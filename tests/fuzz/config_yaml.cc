// The YAML config loader (config::loadString) on whole files, as a user or a ConfigMap writes
// them: never throws, never crashes or hangs (deep nesting, alias bombs, binary junk are refused
// with diagnostics), and every diagnostic formats to a "file:line:col: ..." message.

#include <string>

#include "config/loader.h"
#include "fuzz_check.h"

using namespace sluice;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  config::ConfigSet set = config::loadString(fuzz::asView(data, size), "fuzz.yaml");
  SLUICE_FUZZ_CHECK(set.io_errors.empty());
  for (const auto& diagnostic : set.diagnostics) {
    std::string text = diagnostic.format();
    SLUICE_FUZZ_CHECK(text.rfind("fuzz.yaml", 0) == 0);
    SLUICE_FUZZ_CHECK(!diagnostic.message.empty());
  }
  SLUICE_FUZZ_CHECK(set.ok() == (set.errorCount() == 0));
  (void)set.resourceCount();
  return 0;
}
