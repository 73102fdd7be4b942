#pragma once
// `sluice demo`: the seed's scenario end to end on this machine — embedded Nacos registry,
// provider v1 and v2, the consumer with its sidecar, the ingress gateway, the seed's YAML — run
// step by step with what was seen printed and checked against the seed's expectations.

#include <string>

namespace sluice::demo {

struct DemoOptions {
  std::string sluice_binary;  // path of the sluice executable to start the parts with
  std::string examples_dir = "examples/seed";
  std::string work_dir;  // empty: a fresh /tmp/sluice-demo-XXXXXX
  int requests_per_step = 8;
  // --keep: print the mesh page's address (/ui of the sidecar and the gateway), send steady
  // /echo/hello traffic from step 1 on, hold the "before" state `hold_seconds` so the page shows
  // the round robin, then apply the rules and leave everything up until SIGINT/SIGTERM.
  bool keep_running = false;
  int hold_seconds = 10;
  // With --keep: the rules go in when a line (Enter) arrives on standard input, or at its end,
  // instead of after `hold_seconds` — a person, or a test that has seen the before state, decides.
  bool apply_on_enter = false;
  // "sluice": the built-in demo apps (`sluice demo-app`) on the embedded Nacos registry.
  // "spring": the real Spring Cloud apps of examples/spring-cloud (the Eureka flavour, registered
  // in the real Eureka server eureka-server.jar; `make spring-apps` builds them).
  std::string apps = "sluice";
  // The registry the apps use: "" picks the apps' own (nacos for "sluice", eureka for "spring").
  // "zookeeper": Debian's real ZooKeeper (started in the foreground with a temp data dir) and the
  // Spring Cloud Zookeeper flavour of the apps (implies apps "spring").
  std::string registry;
  std::string spring_apps_dir = "examples/spring-cloud/target/apps";
};

// Returns the process exit code: 0 when everything seen matched the seed, 1 otherwise.
int runDemo(const DemoOptions& options);

}  // namespace sluice::demo
