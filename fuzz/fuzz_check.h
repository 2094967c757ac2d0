// Property checks for the fuzz entries: a violated invariant must crash, so
// that libFuzzer saves the input and the corpus replay test fails on it;
// "did not crash" alone would let a wrong answer through.
#pragma once

#include <cstdio>
#include <string>

namespace corral::fuzz {

[[noreturn]] inline void violated(const char* check, const char* file, int line,
                                  const std::string& detail) {
  std::fprintf(stderr, "%s:%d: fuzz property violated: %s\n  %s\n", file, line, check,
               detail.c_str());
  std::fflush(stderr);
  __builtin_trap();
}

}  // namespace corral::fuzz

// FUZZ_CHECK(condition, detail): `detail` (a std::string expression) is
// evaluated only when the condition fails.
#define FUZZ_CHECK(cond, detail)                                                \
  do {                                                                          \
    if (!(cond)) ::corral::fuzz::violated(#cond, __FILE__, __LINE__, (detail)); \
  } while (0)
