// The configuration file is written by users and read at start and at each
// reload: any text must give a Config or an error, never a crash. What
// `corral check` prints for a valid file (to_toml of the validated Config)
// must read back, through the same validation, to the same Config.
#include <string>

#include "config/loader.h"
#include "fuzz/entries.h"
#include "fuzz/fuzz_check.h"

namespace corral::fuzz {
namespace {

const std::string kSource = "fuzz.toml";

// As `corral check FILE`, or `corral run -c FILE -- ./server` when the file
// leaves the command to the command line.
Result<config::Config> load_and_validate(const std::string& text) {
  Result<config::Config> loaded = config::load_toml(text, kSource);
  if (!loaded.ok()) return loaded;
  config::Overrides flags;
  if (loaded->worker.command.empty()) flags.command = {"./server"};
  return config::apply_overrides(std::move(*loaded), flags);
}

}  // namespace

int fuzz_config(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  Result<config::Config> config = load_and_validate(text);
  if (!config.ok()) {
    // Every refusal names where the problem is (file, or the flag).
    FUZZ_CHECK(!config.error().message.empty(), std::string("empty error"));
    return 0;
  }
  const std::string written = config::to_toml(*config);
  Result<config::Config> again = load_and_validate(written);
  FUZZ_CHECK(again.ok(), "to_toml's output does not load: " + again.error().message +
                             "\n--- written ---\n" + written);
  FUZZ_CHECK(*again == *config, "to_toml's output loads to a different Config:\n" + written);
  FUZZ_CHECK(config::to_toml(*again) == written, "to_toml is not a fixed point:\n" + written);
  return 0;
}

}  // namespace corral::fuzz
