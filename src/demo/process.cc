#include "demo/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace sluice::demo {
namespace {

// Pids visible to the signal handler; fixed-size and lock-free so the handler stays
// async-signal-safe.
constexpr size_t kMaxChildren = 64;
std::array<std::atomic<pid_t>, kMaxChildren> g_pids{};

void registerPid(pid_t pid) {
  for (auto& slot : g_pids) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void unregisterPid(pid_t pid) {
  for (auto& slot : g_pids) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void onFatalSignal(int) {
  for (auto& slot : g_pids) {
    pid_t pid = slot.load();
    if (pid > 0) kill(pid, SIGTERM);
  }
  const char msg[] = "\ninterrupted: stopped every process the demo started\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
  _exit(130);
}

bool exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace

ChildProcesses::ChildProcesses() = default;
ChildProcesses::~ChildProcesses() { stopAll(std::chrono::seconds(3)); }

void ChildProcesses::installSignalCleanup() {
  struct sigaction sa {};
  sa.sa_handler = onFatalSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
}

Result<pid_t> ChildProcesses::spawn(const ChildSpec& spec) {
  int fd = open(spec.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return makeError(ErrorCode::kIo, ErrorSource::kInternal,
                     "cannot create log " + spec.log_path + ": " + std::strerror(errno));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);

  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto key = entry.substr(0, entry.find('='));
    if (!spec.extra_env.contains(key)) env_strings.push_back(entry);
  }
  for (const auto& [k, v] : spec.extra_env) env_strings.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = spec.argv;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(fd);
  if (rc != 0) {
    return makeError(ErrorCode::kIo, ErrorSource::kInternal,
                     "cannot start " + spec.name + ": " + std::strerror(rc));
  }
  registerPid(pid);
  children_[spec.name] = Child{pid, spec.log_path};
  return pid;
}

Result<std::string> ChildProcesses::waitForLine(const std::string& name, const std::string& needle,
                                                std::chrono::milliseconds timeout) {
  auto it = children_.find(name);
  if (it == children_.end()) {
    return makeError(ErrorCode::kNotFound, ErrorSource::kInternal, "no process named " + name);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::ifstream in(it->second.log_path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.find(needle) != std::string::npos) return line;
    }
    if (exited(it->second.pid)) {
      unregisterPid(it->second.pid);
      it->second.pid = -1;
      return makeError(ErrorCode::kUnavailable, ErrorSource::kInternal,
                       name + " exited before it was ready; see " + it->second.log_path);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return makeError(ErrorCode::kTimeout, ErrorSource::kInternal,
                       name + " not ready after " + std::to_string(timeout.count()) +
                           " ms (waiting for \"" + needle + "\"); see " + it->second.log_path);
    }
    // Polling a log file: the child has no other channel to say it is ready.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void ChildProcesses::stop(const std::string& name, std::chrono::milliseconds grace) {
  auto it = children_.find(name);
  if (it == children_.end() || it->second.pid <= 0) return;
  pid_t pid = it->second.pid;
  kill(pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  while (!exited(pid)) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  unregisterPid(pid);
  it->second.pid = -1;
}

void ChildProcesses::stopAll(std::chrono::milliseconds grace) {
  // Reverse start order: front doors first, the registry last.
  std::vector<std::string> names;
  for (const auto& [name, child] : children_) {
    if (child.pid > 0) names.push_back(name);
  }
  for (const auto& name : names) {
    if (children_[name].pid > 0) kill(children_[name].pid, SIGTERM);
  }
  for (const auto& name : names) stop(name, grace);
}

}  // namespace sluice::demo
