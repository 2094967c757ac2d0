#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "config/loader.h"

namespace corral::cli {

int check_command(const std::string& file) {
  auto loaded = config::load_file(file);
  if (!loaded) {
    fmt::print(stderr, "corral: {}\n", loaded.error().message);
    return kExitConfig;
  }
  auto config = config::apply_overrides(std::move(*loaded), {});
  if (!config) {
    fmt::print(stderr, "corral: {}\n", config.error().message);
    return kExitConfig;
  }
  if (auto ok = config::check_command(*config); !ok) {
    fmt::print(stderr, "corral: {}\n", ok.error().message);
    return kExitConfig;
  }
  fmt::print("# {}: valid. Effective configuration:\n{}", file, config::to_toml(*config));
  return kExitOk;
}

}  // namespace corral::cli
