#pragma once
// Child processes for `sluice demo`: spawn with output to a log file, wait for a readiness line
// in that log (never a sleep), stop them all (also from a signal handler).

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace sluice::demo {

struct ChildSpec {
  std::string name;  // for logs and messages, e.g. "provider-v1"
  std::vector<std::string> argv;
  std::map<std::string, std::string> extra_env;
  std::string log_path;  // stdout and stderr both go here
};

class ChildProcesses {
 public:
  ChildProcesses();
  ~ChildProcesses();  // stops everything still running

  Result<pid_t> spawn(const ChildSpec& spec);
  // Waits until `name`'s log has a line containing `needle`; returns that line. Fails when the
  // child exits first or the deadline passes (the error names the log file).
  Result<std::string> waitForLine(const std::string& name, const std::string& needle,
                                  std::chrono::milliseconds timeout);
  // SIGTERM, then SIGKILL after `grace`; waits for the exit.
  void stop(const std::string& name, std::chrono::milliseconds grace = std::chrono::seconds(5));
  void stopAll(std::chrono::milliseconds grace = std::chrono::seconds(5));

  // Installs SIGINT/SIGTERM handlers that kill every registered child and exit(130).
  static void installSignalCleanup();

 private:
  struct Child {
    pid_t pid;
    std::string log_path;
  };
  std::map<std::string, Child> children_;
};

}  // namespace sluice::demo
