// libFuzzer's entry point for fuzz_duration (entries.h); built with CORRAL_FUZZ=ON.
#include "fuzz/entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return corral::fuzz::fuzz_duration(data, size);
}
