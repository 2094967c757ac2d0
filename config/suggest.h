// "Did you mean": the known word a mistyped one most likely stands for.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace corral::config {

// Edits (insert, delete, substitute, swap two neighbours) that turn `a`
// into `b`, ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to `word`, if near enough to be a typo of it: at
// most one edit for words of up to 4 letters, two up to 8, three beyond.
// Ties go to the earlier candidate.
std::optional<std::string_view> closest_match(std::string_view word,
                                              std::span<const std::string_view> candidates);

}  // namespace corral::config
