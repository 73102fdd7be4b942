#include "demo/demo.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "demo/process.h"
#include "demo/steady_traffic.h"
#include "http/client.h"

namespace sluice::demo {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr milliseconds kStartTimeout{15000};
constexpr milliseconds kApplyTimeout{10000};
// Registry propagation to the sidecar, the gateway and the consumer's own client (the Spring
// consumer's Eureka fetch and load-balancer cache add seconds on a busy machine).
constexpr milliseconds kRoutableTimeout{60000};
// A JVM start-up on a small, busy machine takes seconds to tens of seconds.
constexpr milliseconds kSpringStartTimeout{180000};

// "Pods" of the demo: one loopback address each, so provider v1 and v2 can both listen on the
// seed's port 8070 as two pods would, and the reverse-DNS pod CIDR (127.0.0.0/8) covers them.
constexpr const char* kRegistryIp = "127.0.0.1";
constexpr const char* kProviderV1Ip = "127.0.0.11";
constexpr const char* kProviderV2Ip = "127.0.0.12";
constexpr const char* kConsumerIp = "127.0.0.13";
constexpr int kSeedProviderPort = 8070;
constexpr int kSeedConsumerPort = 8080;
constexpr int kSeedGatewayPort = 80;

bool canBind(const char* ip, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &addr.sin_addr);
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// A port free on every one of `ips`; `preferred` first (the seed's port), else one the kernel
// picks. A small race with other processes remains; the start-up check reports it clearly.
int pickPort(const std::vector<const char*>& ips, int preferred) {
  auto free_everywhere = [&](int port) {
    for (const char* ip : ips) {
      if (!canBind(ip, port)) return false;
    }
    return true;
  };
  if (preferred > 0 && free_everywhere(preferred)) return preferred;
  for (int attempt = 0; attempt < 50; ++attempt) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    inet_pton(AF_INET, ips.front(), &addr.sin_addr);
    socklen_t len = sizeof addr;
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    if (port > 0 && free_everywhere(port)) return port;
  }
  return -1;
}

// Two demos started at once on one machine would both see the seed's ports free on
// 127.0.0.11-13 and start JVMs that bind seconds later: one of them fails. So a demo holds this
// machine-wide lock from picking its ports until every part of its topology has bound them; a
// second demo waits (saying so), then picks other ports. Other programs can still race the pick;
// the start-up check reports that clearly. Without a lock file (no writable temp dir) the demo
// goes on unlocked.
class PortPickLock {
 public:
  PortPickLock() {
    fs::path path = fs::temp_directory_path() / "sluice-demo-ports.lock";
    fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) return;
    if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
    fmt::print("  waiting for another sluice demo to finish starting ({})\n", path.string());
    std::fflush(stdout);
    auto give_up = std::chrono::steady_clock::now() + kSpringStartTimeout;
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() > give_up) {
        fmt::print("  still locked after {} s; starting anyway\n",
                   kSpringStartTimeout.count() / 1000);
        break;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  ~PortPickLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  PortPickLock(const PortPickLock&) = delete;
  PortPickLock& operator=(const PortPickLock&) = delete;

 private:
  int fd_ = -1;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool replaceAll(std::string& text, const std::string& from, const std::string& to) {
  bool any = false;
  for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos)) {
    text.replace(pos, from.size(), to);
    pos += to.size();
    any = true;
  }
  return any;
}

// Writes like `kubectl apply`: the file appears whole (temp file + rename), never half-written.
bool applyFile(const fs::path& config_dir, const std::string& name, const std::string& content) {
  fs::path tmp = config_dir / ("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out) return false;
  }
  std::error_code ec;
  fs::rename(tmp, config_dir / name, ec);
  return !ec;
}

// Last token after the last colon of a readiness line: "... listening on 127.0.0.1:PORT".
int portFromLine(const std::string& line) {
  auto colon = line.rfind(':');
  if (colon == std::string::npos) return -1;
  return std::atoi(line.c_str() + colon + 1);
}

struct StepResult {
  std::string label;
  std::string path;
  std::map<std::string, int> counts;  // "v1", "v2", "error"
  std::string expectation;
  bool passed = false;
  std::vector<std::string> sequence;  // version per response, in order
};

std::string versionOf(const std::string& body) {
  static const std::string kPrefix = "Hello Nacos Discovery From ";
  if (body.rfind(kPrefix, 0) != 0 || body.size() < kPrefix.size() + 2) return "other";
  return body.substr(kPrefix.size(), 2);
}

class Demo {
 public:
  explicit Demo(const DemoOptions& options) : options_(options) {}

  int run() {
    ChildProcesses::installSignalCleanup();
    if (options_.registry == "nacos" && options_.apps == "spring") {
      fmt::print(stderr, "demo: --registry nacos runs the built-in apps (--apps sluice)\n");
      return 2;
    }
    if (!prepareWorkDir()) return 1;
    if (zookeeper()) {
      fmt::print(
          "Sluice demo: the seed's scenario with real Spring Cloud Zookeeper apps and Debian's "
          "ZooKeeper, on loopback, no root.\n");
    } else if (consul()) {
      fmt::print(
          "Sluice demo: the seed's scenario with real Spring Cloud Consul apps and Sluice's "
          "embedded Consul agent, on loopback, no root.\n");
    } else if (spring()) {
      fmt::print(
          "Sluice demo: the seed's scenario with real Spring Cloud apps (Eureka flavour, real "
          "Eureka server), on loopback, no root.\n");
    } else {
      fmt::print("Sluice demo: the seed's Spring Cloud + Nacos scenario, on loopback, no root.\n");
    }
    fmt::print("Logs and mesh config: {}\n\n", work_dir_.string());
    bool ok = startTopology() && runSteps();
    printTable();
    if (!ok) fmt::print("\nSome part failed; logs are in {}\n", (work_dir_ / "logs").string());
    if (options_.keep_running && ok) {
      fmt::print(
          "\nEverything is still running (gateway http://127.0.0.1:{}/echo/world). "
          "Ctrl-C stops it.\n",
          gateway_port_);
      printMeshPages();
      std::fflush(stdout);
      for (;;) pause();  // the SIGINT/SIGTERM handler stops the children and exits
    }
    processes_.stopAll();
    bool passed = ok && allStepsPassed();
    fmt::print("\n{}\n", passed
                             ? "RESULT: PASS — Sluice reproduced the seed's before/after routing."
                             : "RESULT: FAIL — what was seen differs from the seed (see above).");
    fmt::print("Logs: {}\n", (work_dir_ / "logs").string());
    return passed ? 0 : 1;
  }

 private:
  bool prepareWorkDir() {
    if (options_.work_dir.empty()) {
      std::string tmpl = (fs::temp_directory_path() / "sluice-demo-XXXXXX").string();
      if (mkdtemp(tmpl.data()) == nullptr) {
        fmt::print(stderr, "demo: cannot create a temp dir: {}\n", std::strerror(errno));
        return false;
      }
      work_dir_ = tmpl;
    } else {
      work_dir_ = options_.work_dir;
    }
    std::error_code ec;
    fs::create_directories(work_dir_ / "logs", ec);
    fs::create_directories(work_dir_ / "mesh-config", ec);
    fs::create_directories(work_dir_ / "registry-data", ec);
    if (ec) {
      fmt::print(stderr, "demo: cannot create {}: {}\n", work_dir_.string(), ec.message());
      return false;
    }
    for (const char* name : {"any-spring-cloud-support.yaml", "test-gateway.yaml", "consumer.yaml",
                             "service-provider.yaml", "service-provider-vs.yaml"}) {
      if (!fs::exists(fs::path(options_.examples_dir) / name)) {
        fmt::print(stderr, "demo: {} not found in {} (use --examples DIR)\n", name,
                   options_.examples_dir);
        return false;
      }
    }
    return true;
  }

  std::string log(const std::string& name) const {
    return (work_dir_ / "logs" / (name + ".log")).string();
  }

  bool start(const std::string& name, std::vector<std::string> args, const std::string& ready,
             std::string* line_out, std::map<std::string, std::string> env = {}) {
    args.insert(args.begin(), options_.sluice_binary);
    auto pid = processes_.spawn(ChildSpec{name, args, std::move(env), log(name)});
    if (!pid) {
      fmt::print("  {:<14} FAILED: {}\n", name, pid.error().message);
      return false;
    }
    auto line = processes_.waitForLine(name, ready, kStartTimeout);
    if (!line) {
      fmt::print("  {:<14} FAILED: {}\n", name, line.error().message);
      return false;
    }
    if (line_out != nullptr) *line_out = *line;
    return true;
  }

  bool zookeeper() const { return options_.registry == "zookeeper"; }
  bool consul() const { return options_.registry == "consul"; }
  // The Spring apps: asked for, or implied by a registry only they speak.
  bool spring() const {
    return options_.apps == "spring" || zookeeper() || consul() || options_.registry == "eureka";
  }

  // The mesh config as the seed applies it before any routing rule: the reverse-DNS
  // EnvoyFilter (pod CIDR set for loopback), the gateway and the consumer's VirtualService.
  bool writeInitialMeshConfig(int provider_port, int consumer_port) {
    std::string envoy_filter =
        readFile(fs::path(options_.examples_dir) / "any-spring-cloud-support.yaml");
    replaceAll(envoy_filter, "10.0.128.0/18", "127.0.0.0/8");
    replaceAll(envoy_filter, "portNumber: 8070", fmt::format("portNumber: {}", provider_port));
    std::string consumer_vs = readFile(fs::path(options_.examples_dir) / "consumer.yaml");
    replaceAll(consumer_vs, "number: 8080", fmt::format("number: {}", consumer_port));
    fs::path cfg = work_dir_ / "mesh-config";
    if (!applyFile(cfg, "any-spring-cloud-support.yaml", envoy_filter) ||
        !applyFile(cfg, "test-gateway.yaml",
                   readFile(fs::path(options_.examples_dir) / "test-gateway.yaml")) ||
        !applyFile(cfg, "consumer.yaml", consumer_vs)) {
      fmt::print("  cannot write the mesh config into {}\n", cfg.string());
      return false;
    }
    return true;
  }

  bool startTopology() {
    fmt::print("Starting the topology (each part is a real process):\n");
    PortPickLock ports_picked_and_bound;
    if (spring()) return startSpringTopology();
    std::string line;
    if (!start("registry",
               {"registry", "--listen", std::string(kRegistryIp) + ":0", "--data-dir",
                (work_dir_ / "registry-data").string()},
               "listening on", &line)) {
      return false;
    }
    registry_ = fmt::format("{}:{}", kRegistryIp, portFromLine(line));
    fmt::print("  {:<14} Nacos naming API on {}\n", "registry", registry_);

    int provider_port = pickPort({kProviderV1Ip, kProviderV2Ip}, kSeedProviderPort);
    int consumer_port = pickPort({kConsumerIp}, kSeedConsumerPort);
    if (provider_port < 0 || consumer_port < 0) {
      fmt::print("  no free ports on 127.0.0.11-13\n");
      return false;
    }
    for (auto [version, ip] : {std::pair{"v1", kProviderV1Ip}, std::pair{"v2", kProviderV2Ip}}) {
      std::string name = fmt::format("provider-{}", version);
      if (!start(name,
                 {"demo-app", "provider", "--service", "service-provider", "--version", version,
                  "--ip", ip, "--port", std::to_string(provider_port), "--registry", registry_},
                 "listening on", nullptr)) {
        return false;
      }
      fmt::print("  {:<14} {}:{} registered in Nacos as service-provider (label: {})\n", name, ip,
                 provider_port, version);
    }

    if (!writeInitialMeshConfig(provider_port, consumer_port)) return false;
    fs::path cfg = work_dir_ / "mesh-config";
    std::string nacos = "nacos://" + registry_;
    if (!start(
            "sidecar",
            {"proxy", "--config", cfg.string(), "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
             "--registry", nacos, "--concurrency", "1", "--service-node", "consumer"},
            "ready", &line)) {
      return false;
    }
    sidecar_line_ = line;
    sidecar_admin_ = adminFromLine(line);
    int sidecar_port = listenPortFromLine(line);
    fmt::print("  {:<14} consumer's sidecar, explicit proxy on 127.0.0.1:{}\n", "sidecar",
               sidecar_port);
    if (!start(
            "consumer",
            {"demo-app", "consumer", "--service", "consumer", "--provider", "service-provider",
             "--ip", kConsumerIp, "--port", std::to_string(consumer_port), "--registry", registry_},
            "listening on", nullptr,
            {{"http_proxy", fmt::format("http://127.0.0.1:{}", sidecar_port)},
             {"no_proxy", registry_}})) {
      return false;
    }
    fmt::print("  {:<14} {}:{} registered as consumer; http_proxy=127.0.0.1:{} (its sidecar)\n",
               "consumer", kConsumerIp, consumer_port, sidecar_port);
    gateway_port_ = pickPort({"127.0.0.1"}, 0);
    if (!start("gateway",
               {"gateway", "--config", cfg.string(), "--admin", "127.0.0.1:0", "--port-offset",
                std::to_string(gateway_port_ - kSeedGatewayPort), "--registry", nacos,
                "--service-node", "istio-ingressgateway"},
               "ready", &line)) {
      return false;
    }
    gateway_admin_ = adminFromLine(line);
    fmt::print("  {:<14} test-gateway port 80 served on 127.0.0.1:{}\n\n", "gateway",
               gateway_port_);
    printMeshPages();
    return waitUntilRoutable(provider_port);
  }

  // The admin endpoints' mesh page (/ui): the sidecar's shows the consumer -> provider split.
  void printMeshPages() const {
    fmt::print("Mesh page: http://{}/ui (the consumer's sidecar)", sidecar_admin_);
    if (!gateway_admin_.empty()) fmt::print(", http://{}/ui (the gateway)", gateway_admin_);
    fmt::print("\n\n");
    std::fflush(stdout);
  }

  // --keep: steady /echo/hello traffic through the gateway from here on, and the before state
  // held for a person to watch on the mesh page (a pace for people, not a synchronisation).
  void holdBeforeState() {
    if (!options_.keep_running) return;
    traffic_.start(fmt::format("http://127.0.0.1:{}/echo/hello", gateway_port_), milliseconds(100));
    if (options_.apply_on_enter) {
      fmt::print(
          "\n--keep: steady GET /echo/hello through the gateway (10/s); press Enter to apply the "
          "rules\n");
      printMeshPages();
      std::string line;
      std::getline(std::cin, line);  // end of input applies them too
      return;
    }
    fmt::print(
        "\n--keep: steady GET /echo/hello through the gateway (10/s); the rules come in {} s\n",
        options_.hold_seconds);
    printMeshPages();
    std::this_thread::sleep_for(std::chrono::seconds(options_.hold_seconds));
  }

  // ---- `--apps spring`: the Spring Cloud jars of examples/spring-cloud ----------------------

  // `java` from PATH (posix_spawn does not search it).
  static std::string findJava() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
      fs::path candidate = fs::path(dir.empty() ? "." : dir) / "java";
      if (access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
  }

  // `java -jar` of one app of `make spring-apps` (target/apps/APP/APP.jar) with the JVM options
  // the e2e tests use (tests/e2e/lib/spring.mjs) and the app's trained class-data archive.
  std::vector<std::string> javaArgv(const std::string& java, const std::string& app,
                                    const std::vector<std::string>& jvm_args,
                                    const std::vector<std::string>& properties) const {
    // Canonical: the class-data archive only applies to the class path spelled as in its
    // training run (build-spring-apps.sh uses the absolute, symlink-free path).
    std::error_code ec;
    fs::path dir = fs::weakly_canonical(fs::path(options_.spring_apps_dir) / app, ec);
    if (ec) dir = fs::path(options_.spring_apps_dir) / app;
    std::vector<std::string> argv{java,           "-XX:TieredStopAtLevel=1",
                                  "-Xshare:auto", "-XX:+UseSerialGC",
                                  "-Xss512k",     "-Xmx256m"};
    if (fs::exists(dir / "app.jsa"))
      argv.push_back("-XX:SharedArchiveFile=" + (dir / "app.jsa").string());
    argv.push_back("-Duser.home=" + (work_dir_ / "java-home").string());
    argv.insert(argv.end(), jvm_args.begin(), jvm_args.end());
    argv.push_back("-jar");
    argv.push_back((dir / (app + ".jar")).string());
    for (const auto& p : properties) argv.push_back("--" + p);
    return argv;
  }

  bool spawnChild(const std::string& name, std::vector<std::string> argv,
                  std::map<std::string, std::string> env = {}) {
    auto pid = processes_.spawn(ChildSpec{name, std::move(argv), std::move(env), log(name)});
    if (!pid) fmt::print("  {:<14} FAILED: {}\n", name, pid.error().message);
    return static_cast<bool>(pid);
  }

  // A Spring Boot app is ready when Tomcat listens and /actuator/health says UP (never a sleep).
  bool waitSpringReady(const std::string& name, const std::string& ip, int port) {
    auto line = processes_.waitForLine(name, "Tomcat started on port", kSpringStartTimeout);
    if (!line) {
      fmt::print("  {:<14} FAILED: {}\n", name, line.error().message);
      return false;
    }
    auto deadline = std::chrono::steady_clock::now() + kSpringStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto r = get(fmt::format("http://{}:{}/actuator/health", ip, port));
      if (r && r->head.status == 200 && r->body.rfind("{\"status\":\"UP\"", 0) == 0) return true;
      std::this_thread::sleep_for(milliseconds(200));
    }
    fmt::print("  {:<14} FAILED: /actuator/health not UP within {} ms (log {})\n", name,
               kSpringStartTimeout.count(), log(name));
    return false;
  }

  // Debian's ZooKeeper (package zookeeper) in the foreground: its own zoo.cfg and data dir in the
  // work dir, the Jetty AdminServer off, `ruok` as the readiness check.
  bool spawnZooKeeper(const std::string& java, int port) {
    const fs::path jar = "/usr/share/java/zookeeper.jar";
    if (!fs::exists(jar)) {
      fmt::print("  {} not found (Debian package zookeeper; scripts/install-deps.sh)\n",
                 jar.string());
      return false;
    }
    fs::path dir = work_dir_ / "zookeeper";
    std::error_code ec;
    fs::create_directories(dir / "data", ec);
    std::string cfg = fmt::format(
        "tickTime=1000\ndataDir={}\nclientPort={}\nclientPortAddress={}\n"
        "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr,stat,mntr\n",
        (dir / "data").string(), port, kRegistryIp);
    if (ec || !applyFile(dir, "zoo.cfg", cfg)) {
      fmt::print("  cannot write {}\n", (dir / "zoo.cfg").string());
      return false;
    }
    std::string cp = jar.string();
    if (fs::exists("/usr/share/java/slf4j-simple.jar")) cp += ":/usr/share/java/slf4j-simple.jar";
    return spawnChild("zookeeper", {java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx128m",
                                    "-Duser.home=" + (work_dir_ / "java-home").string(), "-cp", cp,
                                    "org.apache.zookeeper.server.ZooKeeperServerMain",
                                    (dir / "zoo.cfg").string()});
  }

  // `ruok` answered `imok`, polled (bounded).
  bool waitZooKeeperReady(int port) {
    auto deadline = std::chrono::steady_clock::now() + kSpringStartTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      timeval tv{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      inet_pton(AF_INET, kRegistryIp, &addr.sin_addr);
      char buf[8] = {};
      bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                write(fd, "ruok", 4) == 4 && read(fd, buf, 4) == 4 && std::string(buf) == "imok";
      close(fd);
      if (ok) return true;
      std::this_thread::sleep_for(milliseconds(200));
    }
    fmt::print("  {:<14} FAILED: no `imok` within {} ms (log {})\n", "zookeeper",
               kSpringStartTimeout.count(), log("zookeeper"));
    return false;
  }

  bool startSpringTopology() {
    std::string java = findJava();
    if (java.empty()) {
      fmt::print("  java not found on PATH (scripts/install-deps.sh installs JDK 17)\n");
      return false;
    }
    const std::string app_jar = zookeeper() ? "demo-zookeeper"
                                : consul()  ? "demo-consul"
                                            : "demo-eureka";
    std::vector<std::string> jars{app_jar};
    if (!zookeeper() && !consul()) jars.push_back("eureka-server");
    for (const std::string& app : jars) {
      fs::path jar = fs::path(options_.spring_apps_dir) / app / (app + ".jar");
      if (!fs::exists(jar)) {
        fmt::print("  {} not found: run `make spring-apps` (or pass --spring-apps DIR)\n",
                   jar.string());
        return false;
      }
    }
    int registry_port = pickPort({kRegistryIp}, zookeeper() ? 2181 : consul() ? 8500 : 8761);
    int provider_port = pickPort({kProviderV1Ip, kProviderV2Ip}, kSeedProviderPort);
    int consumer_port = pickPort({kConsumerIp}, kSeedConsumerPort);
    if (registry_port < 0 || provider_port < 0 || consumer_port < 0) {
      fmt::print("  no free ports on 127.0.0.1 and 127.0.0.11-13\n");
      return false;
    }
    registry_ = fmt::format("{}:{}", kRegistryIp, registry_port);
    std::string default_zone = fmt::format("http://{}/eureka/", registry_);
    // What the sidecar and the gateway watch, and what each app is told about its registry.
    std::string mesh_registry = zookeeper() ? fmt::format("zookeeper://{}", registry_)
                                : consul()  ? fmt::format("consul://{}", registry_)
                                            : fmt::format("eureka://{}/eureka", registry_);
    auto registryProps = [&](const std::string& ip) -> std::vector<std::string> {
      if (consul()) {
        // The embedded agent probes each app's HTTP check (/actuator/health) at ip:port.
        return {"spring.cloud.consul.host=" + std::string(kRegistryIp),
                fmt::format("spring.cloud.consul.port={}", registry_port),
                "spring.cloud.consul.discovery.ip-address=" + ip};
      }
      if (zookeeper()) {
        return {"spring.cloud.zookeeper.connect-string=" + registry_,
                "spring.cloud.zookeeper.discovery.instance-host=" + ip,
                "spring.cloud.zookeeper.discovery.instance-ip-address=" + ip};
      }
      return {"eureka.instance.ip-address=" + ip,
              "eureka.client.service-url.defaultZone=" + default_zone};
    };
    if (!writeInitialMeshConfig(provider_port, consumer_port)) return false;
    fs::path cfg = work_dir_ / "mesh-config";
    std::string line;
    if (!start("sidecar",
               {"proxy", "--config", cfg.string(), "--listen", "127.0.0.1:0", "--admin",
                "127.0.0.1:0", "--registry", mesh_registry, "--concurrency", "1"},
               "ready", &line)) {
      return false;
    }
    sidecar_admin_ = adminFromLine(line);
    int sidecar_port = listenPortFromLine(line);

    // The JVMs start together (start-up dominates); the clients retry until the server is up.
    // The consumer's JVM uses its sidecar as HTTP proxy (-Dhttp.proxyHost: Java's http_proxy).
    // An empty http.nonProxyHosts: any other value gets Java's built-in "localhost|127.*" added,
    // which would exempt the loopback "pods"; the Eureka client's own calls then go through the
    // sidecar too, which passes them to the dialled address (no instance lives there). (Curator's
    // ZooKeeper connection is not HTTP: the proxy settings do not touch it.)
    bool spawned =
        zookeeper() ? spawnZooKeeper(java, registry_port)
        : consul()
            ? start("registry",
                    {"registry", "--protocol", "consul", "--listen", registry_, "--consul-data-dir",
                     (work_dir_ / "registry-data").string()},
                    "listening on", nullptr)
            : spawnChild("eureka-server", javaArgv(java, "eureka-server", {},
                                                   {"server.address=" + std::string(kRegistryIp),
                                                    fmt::format("server.port={}", registry_port)}));
    for (auto [version, ip] : {std::pair{"v1", kProviderV1Ip}, std::pair{"v2", kProviderV2Ip}}) {
      std::vector<std::string> props{
          "spring.profiles.active=provider,fast", fmt::format("demo.version={}", version),
          fmt::format("server.address={}", ip), fmt::format("server.port={}", provider_port)};
      for (auto& p : registryProps(ip)) props.push_back(p);
      spawned = spawned &&
                spawnChild(fmt::format("provider-{}", version), javaArgv(java, app_jar, {}, props));
    }
    std::vector<std::string> consumer_props{"spring.profiles.active=consumer,fast",
                                            "spring.application.name=consumer",
                                            fmt::format("server.address={}", kConsumerIp),
                                            fmt::format("server.port={}", consumer_port)};
    for (auto& p : registryProps(kConsumerIp)) consumer_props.push_back(p);
    spawned = spawned &&
              spawnChild("consumer", javaArgv(java, app_jar,
                                              {"-Dhttp.proxyHost=127.0.0.1",
                                               fmt::format("-Dhttp.proxyPort={}", sidecar_port),
                                               "-Dhttp.nonProxyHosts="},
                                              consumer_props));
    if (!spawned) return false;
    const char* registry_name = zookeeper() ? "zookeeper" : consul() ? "registry" : "eureka-server";
    if (consul()) {
      fmt::print("  {:<14} starting 3 JVMs (provider v1/v2, consumer)...\n", "java");
    } else {
      fmt::print("  {:<14} starting 4 JVMs ({}, provider v1/v2, consumer)...\n", "java",
                 zookeeper() ? "ZooKeeper" : "Eureka server");
    }
    if (consul()) {
      // start() above already waited for the agent's readiness line.
    } else if (zookeeper() ? !waitZooKeeperReady(registry_port)
                           : !waitSpringReady("eureka-server", kRegistryIp, registry_port)) {
      return false;
    }
    if (consul()) {
      fmt::print("  {:<14} sluice registry --protocol consul on {} (catalog in {})\n",
                 registry_name, registry_, (work_dir_ / "registry-data").string());
    } else if (zookeeper()) {
      fmt::print("  {:<14} Debian's ZooKeeper 3.8 on {} (data in {})\n", registry_name, registry_,
                 (work_dir_ / "zookeeper" / "data").string());
    } else {
      fmt::print("  {:<14} real Eureka server on {} (Spring Cloud Netflix)\n", registry_name,
                 registry_);
    }
    for (auto [version, ip] : {std::pair{"v1", kProviderV1Ip}, std::pair{"v2", kProviderV2Ip}}) {
      std::string name = fmt::format("provider-{}", version);
      if (!waitSpringReady(name, ip, provider_port)) return false;
      fmt::print("  {:<14} {}:{} Spring Boot app registered in {} (metadata label: {})\n", name, ip,
                 provider_port,
                 zookeeper() ? "ZooKeeper as /services/service-provider/<id>"
                 : consul()  ? "Consul as service-provider (HTTP check)"
                             : "Eureka as SERVICE-PROVIDER",
                 version);
    }
    if (!waitSpringReady("consumer", kConsumerIp, consumer_port)) return false;
    fmt::print(
        "  {:<14} {}:{} Spring Boot app, @LoadBalanced RestTemplate; "
        "-Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort={} (its sidecar)\n",
        "consumer", kConsumerIp, consumer_port, sidecar_port);
    fmt::print("  {:<14} consumer's sidecar, explicit proxy on 127.0.0.1:{}, registry {}\n",
               "sidecar", sidecar_port, mesh_registry);
    gateway_port_ = pickPort({"127.0.0.1"}, 0);
    if (!start("gateway",
               {"gateway", "--config", cfg.string(), "--admin", "127.0.0.1:0", "--port-offset",
                std::to_string(gateway_port_ - kSeedGatewayPort), "--registry", mesh_registry},
               "ready", &line)) {
      return false;
    }
    fmt::print("  {:<14} test-gateway port 80 served on 127.0.0.1:{}\n\n", "gateway",
               gateway_port_);
    return waitUntilRoutable(provider_port);
  }

  // "ready: listen 127.0.0.1:P admin 127.0.0.1:Q" -> the admin address.
  static std::string adminFromLine(const std::string& line) {
    auto pos = line.find("admin ");
    if (pos == std::string::npos) return {};
    auto rest = line.substr(pos + 6);
    return rest.substr(0, rest.find(' '));
  }
  static int listenPortFromLine(const std::string& line) {
    auto pos = line.find("listen ");
    if (pos == std::string::npos) return -1;
    auto rest = line.substr(pos + 7);
    return portFromLine(rest.substr(0, rest.find(' ')));
  }

  Result<http::Response> get(const std::string& url) {
    http::ClientRequest request;
    request.url = url;
    request.timeout = milliseconds(5000);
    return http::fetchBlocking(std::move(request));
  }

  // The registry feeds the sidecar, the gateway and the consumer's own client asynchronously.
  // Before the first step, wait (bounded) until every one of them sees both providers, as
  // `kubectl get pods` 2/2 would tell: the sidecar lists both provider addresses on
  // /config_dump (else its rules cannot apply to the one it does not know yet), and the gateway
  // has answered through the consumer from v1 and from v2 (else the consumer's load balancer
  // still knows only one and step 1 cannot alternate).
  bool waitUntilRoutable(int provider_port) {
    auto deadline = std::chrono::steady_clock::now() + kRoutableTimeout;
    std::vector<std::string> addresses{fmt::format("\"{}:{}\"", kProviderV1Ip, provider_port),
                                       fmt::format("\"{}:{}\"", kProviderV2Ip, provider_port)};
    auto sidecarKnowsBoth = [&](std::string& last) {
      auto dump = get(fmt::format("http://{}/config_dump", sidecar_admin_));
      if (!dump || dump->head.status != 200) {
        last = dump ? fmt::format("HTTP {}", dump->head.status) : dump.error().message;
        return false;
      }
      for (const auto& a : addresses) {
        if (dump->body.find(a) == std::string::npos) {
          last = fmt::format("no endpoint {} yet", a);
          return false;
        }
      }
      return true;
    };
    std::string last;
    while (!sidecarKnowsBoth(last)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        fmt::print("The sidecar did not list both providers within {} ms ({}; admin {})\n",
                   kRoutableTimeout.count(), last, sidecar_admin_);
        return false;
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
    std::map<std::string, int> seen;
    while (seen["v1"] == 0 || seen["v2"] == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        fmt::print(
            "The consumer did not answer from both v1 and v2 within {} ms (v1 {}, v2 {}); last "
            "answer: {}\n",
            kRoutableTimeout.count(), seen["v1"], seen["v2"], last);
        return false;
      }
      auto r = get(fmt::format("http://127.0.0.1:{}/echo/ready", gateway_port_));
      if (r && r->head.status == 200) ++seen[versionOf(r->body)];
      last = r ? fmt::format("{} {}", r->head.status, r->body) : r.error().message;
      if (!r || r->head.status != 200) std::this_thread::sleep_for(milliseconds(100));
    }
    return true;
  }

  StepResult send(const std::string& label, const std::string& word,
                  const std::string& expectation) {
    StepResult step{label, "/echo/" + word, {}, expectation, false, {}};
    fmt::print("  curl http://127.0.0.1:{}/echo/{}  (x{})\n", gateway_port_, word,
               options_.requests_per_step);
    for (int i = 0; i < options_.requests_per_step; ++i) {
      auto r = get(fmt::format("http://127.0.0.1:{}/echo/{}", gateway_port_, word));
      if (!r) {
        fmt::print("    error: {}\n", r.error().message);
        ++step.counts["error"];
        continue;
      }
      if (r->head.status != 200) {
        fmt::print("    HTTP {}: {}\n", r->head.status, r->body);
        ++step.counts["error"];
        continue;
      }
      fmt::print("    {}\n", r->body);
      ++step.counts[versionOf(r->body)];
      step.sequence.push_back(versionOf(r->body));
    }
    return step;
  }

  bool runSteps() {
    fmt::print("Step 1 — before routing rules: the consumer round-robins over v1 and v2\n");
    auto before = send("before", "world", "v1 and v2 alternate");
    {
      // Round robin over two instances: every response differs from the one before it.
      bool alternates = before.sequence.size() == static_cast<size_t>(options_.requests_per_step);
      for (size_t i = 1; alternates && i < before.sequence.size(); ++i) {
        alternates = before.sequence[i] != before.sequence[i - 1];
      }
      before.passed = alternates && before.counts["v1"] > 0 && before.counts["v2"] > 0;
    }
    steps_.push_back(before);
    holdBeforeState();

    fmt::print("\nStep 2 — kubectl apply -f service-provider.yaml -f service-provider-vs.yaml\n");
    fs::path cfg = work_dir_ / "mesh-config";
    for (const char* name : {"service-provider.yaml", "service-provider-vs.yaml"}) {
      if (!applyFile(cfg, name, readFile(fs::path(options_.examples_dir) / name))) {
        fmt::print("  cannot write {}\n", name);
        return false;
      }
      fmt::print("  applied {}\n", name);
    }
    if (!waitForRulesApplied()) return false;

    fmt::print("\nStep 3 — after: /echo/hello goes to v1 only, everything else to v2\n");
    auto hello = send("after", "hello", "v1 only");
    hello.passed = hello.counts["v1"] == options_.requests_per_step;
    steps_.push_back(hello);
    auto world = send("after", "world", "v2 only");
    world.passed = world.counts["v2"] == options_.requests_per_step;
    steps_.push_back(world);
    return true;
  }

  // Applied means both proxies report the new rules in their effective config; the demo waits
  // on that (bounded), never on a fixed sleep.
  bool waitForRulesApplied() {
    auto deadline = std::chrono::steady_clock::now() + kApplyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto dump = get(fmt::format("http://{}/config_dump", sidecar_admin_));
      if (dump && dump->head.status == 200 && dump->body.find("hello-v1") != std::string::npos) {
        fmt::print("  the sidecar reports the new rules (route \"hello-v1\") in /config_dump\n");
        return true;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    fmt::print("  the sidecar did not pick up the rules within {} ms (admin {})\n",
               kApplyTimeout.count(), sidecar_admin_);
    return false;
  }

  void printTable() const {
    if (steps_.empty()) return;
    fmt::print("\n{:<8} {:<14} {:>4} {:>4} {:>6}  {:<22} {}\n", "step", "request", "v1", "v2",
               "other", "seed expects", "");
    for (const auto& s : steps_) {
      auto count = [&](const char* k) {
        auto it = s.counts.find(k);
        return it == s.counts.end() ? 0 : it->second;
      };
      fmt::print("{:<8} {:<14} {:>4} {:>4} {:>6}  {:<22} {}\n", s.label, s.path, count("v1"),
                 count("v2"), count("other") + count("error"), s.expectation,
                 s.passed ? "ok" : "MISMATCH");
    }
  }

  bool allStepsPassed() const {
    if (steps_.size() != 3) return false;
    for (const auto& s : steps_) {
      if (!s.passed) return false;
    }
    return true;
  }

  DemoOptions options_;
  fs::path work_dir_;
  ChildProcesses processes_;
  std::string registry_;
  std::string sidecar_line_;
  std::string sidecar_admin_;
  std::string gateway_admin_;
  int gateway_port_ = 0;
  SteadyTraffic traffic_;
  std::vector<StepResult> steps_;
};

}  // namespace

int runDemo(const DemoOptions& options) { return Demo(options).run(); }

}  // namespace sluice::demo
