// Junk input: every file of tests/data/config/invalid/ (plus generated big ones) must give at
// least one error, quickly, without crashing.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "config/loader.h"
#include "test_util.h"

namespace sluice::config {
namespace {

namespace fs = std::filesystem;
using testing::dump;

// "Never hangs" is guarded by ctest's per-test TIMEOUT, not by a timed assertion: speed belongs
// in benchmarks, and a loaded CI machine must not turn a correct rejection into a failure.
void expectRejectedQuickly(const std::string& path) {
  ConfigSet set = loadPaths({path});
  EXPECT_TRUE(set.io_errors.empty()) << path;
  EXPECT_GE(set.errorCount(), 1u) << path << " produced no error:\n" << dump(set);
  EXPECT_LT(set.diagnostics.size(), 1000u) << path;
  for (const auto& d : set.diagnostics) {
    EXPECT_EQ(d.pos.file, path);
    EXPECT_GE(d.pos.line, 1) << d.format();
  }
}

TEST(CorpusTest, EveryInvalidFileIsRejected) {
  const fs::path dir = fs::path(SLUICE_SOURCE_DIR) / "tests/data/config/invalid";
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename() == "README.md") continue;
    SCOPED_TRACE(entry.path().string());
    expectRejectedQuickly(entry.path().string());
    ++files;
  }
  EXPECT_GE(files, 20u);
}

class GeneratedFile {
 public:
  GeneratedFile(const std::string& name, const std::string& content)
      : path_(fs::temp_directory_path() / (std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~GeneratedFile() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(CorpusTest, FiveMegabyteDocumentIsRejectedQuickly) {
  // One VirtualService whose host is a 5 MB string.
  std::string yaml =
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: "
      "{name: huge}\nspec:\n  hosts:\n  - " +
      std::string(5 * 1024 * 1024, 'a') + "\n  http:\n  - route:\n    - destination: {host: svc}\n";
  GeneratedFile file("huge.yaml", yaml);
  expectRejectedQuickly(file.path());
  ConfigSet set = loadPaths({file.path()});
  EXPECT_TRUE(testing::hasError(set, "too long (max 255)")) << dump(set);
}

TEST(CorpusTest, FiveMegabytesOfHostsStayLinear) {
  // 250k distinct hosts plus one invalid one: duplicate detection must not be quadratic.
  std::string yaml =
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: "
      "{name: many}\nspec:\n  gateways: [mesh]\n  hosts:\n";
  for (int i = 0; i < 250000; ++i) yaml += "  - h" + std::to_string(i) + ".example.com\n";
  yaml += "  - bad_host!\n  http:\n  - route:\n    - destination: {host: svc}\n";
  ASSERT_GT(yaml.size(), 5u * 1000 * 1000);
  GeneratedFile file("many.yaml", yaml);
  expectRejectedQuickly(file.path());
}

TEST(CorpusTest, TenThousandLevelsOfBlockNestingAreRejected) {
  // Block style: one level per line. Indentation grows, so the file is large; the pre-scan must
  // stop at the depth limit long before yaml-cpp would recurse.
  std::string yaml;
  for (int i = 0; i < 10000; ++i) yaml += "- ";
  yaml += "\n";
  for (int i = 0; i < 2000; ++i) yaml += std::string(static_cast<size_t>(i), ' ') + "k:\n";
  GeneratedFile file("deep.yaml", yaml);
  expectRejectedQuickly(file.path());
}

TEST(CorpusTest, FileAboveTheSizeLimitIsRejectedWithoutParsing) {
  std::string yaml = "# " + std::string(kMaxFileBytes, 'x') + "\n";
  GeneratedFile file("too-big.yaml", yaml);
  ConfigSet set = loadPaths({file.path()});
  EXPECT_TRUE(testing::hasError(set, "file is too large")) << dump(set);
}

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every prefix of every seed file: must never crash or hang (errors or not).
TEST(CorpusTest, SeedFilesTruncatedAtEveryByteNeverCrash) {
  const fs::path dir = fs::path(SLUICE_SOURCE_DIR) / "examples/seed";
  size_t loads = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string text = readFile(entry.path());
    const size_t step = text.size() > 1500 ? 3 : 1;  // the Lua filter is long; sample it
    for (size_t n = 0; n < text.size(); n += step) {
      ConfigSet set = loadString(std::string_view(text).substr(0, n), "cut.yaml");
      for (const auto& d : set.diagnostics) ASSERT_FALSE(d.message.empty());
      ++loads;
    }
  }
  EXPECT_GT(loads, 2000u);
}

// Random byte mutations of the seed files (fixed seed, so failures reproduce).
TEST(CorpusTest, RandomMutationsNeverCrash) {
  const fs::path dir = fs::path(SLUICE_SOURCE_DIR) / "examples/seed";
  std::vector<std::string> seeds;
  for (const auto& entry : fs::directory_iterator(dir)) seeds.push_back(readFile(entry.path()));
  std::mt19937 rng(20261125);
  std::string alphabet = " :-[]{}\"'#&*!|>\t\n,.?%@`0123456789abcXYZ";
  alphabet += '\0';
  alphabet += '\xff';
  for (int i = 0; i < 1500; ++i) {
    std::string text = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          text.insert(at, 1, alphabet[rng() % alphabet.size()]);
          break;
        default:
          text.erase(at, 1 + rng() % 8);
          break;
      }
    }
    ConfigSet set = loadString(text, "mutated.yaml");
    for (const auto& d : set.diagnostics) ASSERT_FALSE(d.message.empty()) << text;
  }
}

}  // namespace
}  // namespace sluice::config
