// Worker processes for `vifi launch` (see header). POSIX: fork/execve, pipes, poll, waitpid.
#include "vifi/dist/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "vifi/util/interrupt.h"
#include "vifi/util/logging.h"

extern char** environ;

namespace vifi::dist {
namespace {

using Clock = std::chrono::steady_clock;

// One output stream of one worker, split into lines so lines of different ranks never mix.
struct Stream {
  int fd = -1;
  int target = STDOUT_FILENO;
  std::string pending;
};

struct Worker {
  int rank = 0;
  pid_t pid = -1;
  Stream out, err;
  bool running = true;
  int exit_code = 0;
};

void write_all(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    const auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the launcher's own output is gone: nothing better to do
    done += static_cast<size_t>(n);
  }
}

void flush_lines(Stream& s, const std::string& prefix, bool eof) {
  size_t start = 0;
  for (size_t nl; (nl = s.pending.find('\n', start)) != std::string::npos; start = nl + 1)
    write_all(s.target, prefix + s.pending.substr(start, nl - start + 1));
  s.pending.erase(0, start);
  if (eof && !s.pending.empty()) write_all(s.target, prefix + s.pending + "\n");
  if (eof) s.pending.clear();
}

// Reads what is there; closes the stream at end of file.
void drain(Stream& s, const std::string& prefix) {
  char buf[4096];
  const auto n = ::read(s.fd, buf, sizeof buf);
  if (n > 0) {
    s.pending.append(buf, static_cast<size_t>(n));
    flush_lines(s, prefix, false);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    flush_lines(s, prefix, true);
    ::close(s.fd);
    s.fd = -1;
  }
}

// "NAME=value" for the launcher's environment with `extra` replacing or adding variables.
std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(extra.begin(), extra.end(), [&](const auto& kv) { return kv.first == name; });
    if (!replaced) env.push_back(entry);
  }
  for (const auto& [k, v] : extra) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_worker(pid_t launcher, int out_fd, int err_fd, char* const* argv, char* const* envp) {
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != launcher) ::_exit(1);  // the launcher died before prctl took effect
  const int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  ::execve(argv[0], argv, envp);
  const char msg[] = "vifi launch: cannot execute the worker program\n";
  (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
  ::_exit(127);
}

Worker start_worker(const LaunchOptions& o, int local_rank) {
  auto env = environment_with(worker_environment(o, local_rank));
  auto args = o.command;
  auto envp = c_strings(env);
  auto argv = c_strings(args);
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("vifi launch: pipe: ") + std::strerror(errno));
  const pid_t launcher = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("vifi launch: fork: ") + std::strerror(errno));
  if (pid == 0) exec_worker(launcher, out[1], err[1], argv.data(), envp.data());
  ::setpgid(pid, pid);  // also in the parent, so signals can target the group right away
  ::close(out[1]);
  ::close(err[1]);
  Worker w;
  w.rank = o.node_rank * o.nproc_per_node + local_rank;
  w.pid = pid;
  w.out = {out[0], STDOUT_FILENO, {}};
  w.err = {err[0], STDERR_FILENO, {}};
  return w;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void signal_all(std::vector<Worker>& workers, int signal) {
  for (auto& w : workers)
    if (w.running) ::kill(-w.pid, signal);
}

// Output of every worker, for up to `timeout_ms`.
void pump_output(std::vector<Worker>& workers, int timeout_ms) {
  std::vector<pollfd> fds;
  std::vector<std::pair<Stream*, std::string>> streams;
  for (auto& w : workers)
    for (Stream* s : {&w.out, &w.err})
      if (s->fd >= 0) {
        fds.push_back({s->fd, POLLIN, 0});
        streams.emplace_back(s, "[rank " + std::to_string(w.rank) + "] ");
      }
  if (fds.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms));
    return;
  }
  if (::poll(fds.data(), fds.size(), timeout_ms) <= 0) return;
  for (size_t i = 0; i < fds.size(); ++i)
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) drain(*streams[i].first, streams[i].second);
}

// Reaps exited workers; returns the first one that failed in this call, if any.
Worker* reap(std::vector<Worker>& workers) {
  Worker* failed = nullptr;
  for (auto& w : workers) {
    int status = 0;
    if (!w.running || ::waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
    w.running = false;
    w.exit_code = exit_code_of(status);
    if (w.exit_code != 0 && !failed) failed = &w;
  }
  return failed;
}

bool any_running(const std::vector<Worker>& workers) {
  return std::any_of(workers.begin(), workers.end(), [](const Worker& w) { return w.running; });
}

bool any_open(const std::vector<Worker>& workers) {
  return std::any_of(workers.begin(), workers.end(), [](const Worker& w) { return w.out.fd >= 0 || w.err.fd >= 0; });
}

void close_streams(std::vector<Worker>& workers) {
  for (auto& w : workers)
    for (Stream* s : {&w.out, &w.err})
      if (s->fd >= 0) {
        flush_lines(*s, "[rank " + std::to_string(w.rank) + "] ", true);
        ::close(s->fd);
        s->fd = -1;
      }
}

}  // namespace

void validate(const LaunchOptions& o) {
  auto fail = [](const std::string& m) { throw std::invalid_argument("vifi launch: " + m); };
  if (o.nproc_per_node < 1) fail("--nproc-per-node must be at least 1, got " + std::to_string(o.nproc_per_node));
  if (o.nnodes < 1) fail("--nnodes must be at least 1, got " + std::to_string(o.nnodes));
  if (o.node_rank < 0 || o.node_rank >= o.nnodes)
    fail("--node-rank " + std::to_string(o.node_rank) + " but --nnodes " + std::to_string(o.nnodes) +
         " (node ranks are 0.." + std::to_string(o.nnodes - 1) + ")");
  if (o.master_port < 1 || o.master_port > 65535)
    fail("--master-port " + std::to_string(o.master_port) + " is not a TCP port (1..65535)");
  if (o.master_addr.empty()) fail("--master-addr is empty");
  if (o.command.empty()) fail("no command to run: give it after --, e.g. vifi launch --nproc-per-node 2 -- train ...");
}

std::vector<std::pair<std::string, std::string>> worker_environment(const LaunchOptions& o, int local_rank) {
  std::vector<std::pair<std::string, std::string>> env = {
      {"RANK", std::to_string(o.node_rank * o.nproc_per_node + local_rank)},
      {"WORLD_SIZE", std::to_string(o.nnodes * o.nproc_per_node)},
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node)},
      {"GROUP_RANK", std::to_string(o.node_rank)},
      {"MASTER_ADDR", o.master_addr},
      {"MASTER_PORT", std::to_string(o.master_port)},
  };
  // N workers each using every core would oversubscribe the CPU; torchrun sets 1.
  if (!std::getenv("OMP_NUM_THREADS")) {
    const auto cores = std::max(1u, std::thread::hardware_concurrency());
    env.emplace_back("OMP_NUM_THREADS", std::to_string(std::max(1u, cores / static_cast<unsigned>(o.nproc_per_node))));
  }
  return env;
}

int launch(const LaunchOptions& o) {
  validate(o);
  std::vector<Worker> workers;
  for (int r = 0; r < o.nproc_per_node; ++r) workers.push_back(start_worker(o, r));
  int result = 0;
  bool forwarded = false;
  constexpr auto kNever = Clock::time_point::max();
  auto kill_at = kNever, all_exited_at = kNever;
  while (any_running(workers) || any_open(workers)) {
    pump_output(workers, 50);
    if (Worker* failed = reap(workers); failed && result == 0) {
      result = failed->exit_code;
      util::log_error("vifi launch: rank " + std::to_string(failed->rank) + " exited with code " +
                      std::to_string(result) + "; stopping the other workers");
      signal_all(workers, SIGTERM);
      kill_at = Clock::now() + o.kill_grace;
    }
    if (util::interrupt_requested() && !forwarded) {
      signal_all(workers, util::interrupt_signal() ? util::interrupt_signal() : SIGTERM);
      forwarded = true;
    }
    if (Clock::now() >= kill_at) {
      signal_all(workers, SIGKILL);
      kill_at = kNever;
    }
    if (!any_running(workers) && all_exited_at == kNever) all_exited_at = Clock::now();
    // A worker's own children may hold its pipes open after it exited: stop reading after 1 s.
    if (all_exited_at != kNever && Clock::now() - all_exited_at > std::chrono::seconds(1)) close_streams(workers);
  }
  return result;
}

}  // namespace vifi::dist
