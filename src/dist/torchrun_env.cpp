// Parsing and validation of torchrun's variables (see header).
#include "vifi/dist/torchrun_env.h"

#include <cstdlib>
#include <stdexcept>

#include "vifi/util/parse_number.h"
namespace vifi::dist {
namespace {

int parse_int(const std::string& name, const std::string& text) {
  const auto value = util::parse_int64(text);
  if (!value || *value < INT32_MIN || *value > INT32_MAX)
    throw std::runtime_error(name + "='" + text + "' is not an integer");
  return static_cast<int>(*value);
}

int required_int(const EnvLookup& env, const std::string& name, const std::string& why) {
  const auto text = env(name);
  if (!text) throw std::runtime_error(name + " is not set but " + why + " (torchrun and vifi launch set it)");
  return parse_int(name, *text);
}

void check_ranks(const TorchrunEnv& e) {
  const auto ws = "WORLD_SIZE=" + std::to_string(e.world_size);
  if (e.world_size < 1) throw std::runtime_error(ws + " must be at least 1");
  if (e.rank < 0 || e.rank >= e.world_size) throw std::runtime_error(ws + " but RANK=" + std::to_string(e.rank));
  const auto lws = "LOCAL_WORLD_SIZE=" + std::to_string(e.local_world_size);
  if (e.local_world_size < 1 || e.local_world_size > e.world_size)
    throw std::runtime_error(lws + " must be in 1.." + std::to_string(e.world_size) + " (" + ws + ")");
  if (e.local_rank < 0 || e.local_rank >= e.local_world_size)
    throw std::runtime_error(lws + " but LOCAL_RANK=" + std::to_string(e.local_rank));
  if (e.master_port < 1 || e.master_port > 65535)
    throw std::runtime_error("MASTER_PORT=" + std::to_string(e.master_port) + " is not a TCP port (1..65535)");
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value ? std::optional<std::string>(value) : std::nullopt;
  };
}

std::optional<TorchrunEnv> read_torchrun_env(const EnvLookup& env) {
  const auto rank_text = env("RANK");
  const auto world_text = env("WORLD_SIZE");
  if (!rank_text && !world_text) return std::nullopt;
  if (!world_text) throw std::runtime_error("RANK=" + *rank_text + " is set but WORLD_SIZE is not");
  TorchrunEnv e;
  e.world_size = parse_int("WORLD_SIZE", *world_text);
  if (!rank_text) throw std::runtime_error("WORLD_SIZE=" + *world_text + " is set but RANK is not");
  e.rank = parse_int("RANK", *rank_text);
  if (e.world_size == 1 && e.rank == 0) return std::nullopt;  // one process: nothing to rendezvous with
  const auto why = "WORLD_SIZE=" + std::to_string(e.world_size);
  e.local_rank = required_int(env, "LOCAL_RANK", why);
  const auto lws = env("LOCAL_WORLD_SIZE");
  e.local_world_size = lws ? parse_int("LOCAL_WORLD_SIZE", *lws) : e.local_rank + 1;
  const auto addr = env("MASTER_ADDR");
  if (!addr || addr->empty()) throw std::runtime_error("MASTER_ADDR is not set but " + why + " (torchrun and vifi launch set it)");
  e.master_addr = *addr;
  e.master_port = required_int(env, "MASTER_PORT", why);
  check_ranks(e);
  return e;
}

}  // namespace vifi::dist
