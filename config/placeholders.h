// Placeholders in a worker's command arguments and environment values:
//   {fd:NAME}    the fd number that socket NAME has in the worker
//   {port:NAME}  the port socket NAME is bound to (useful with port 0)
//   {id}         the worker's slot id
// Text that merely contains braces (JSON in an argument, say) is left
// alone; only the `{fd:` and `{port:` prefixes are reserved.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace corral::config {

// What the placeholders of one worker stand for.
struct PlaceholderValues {
  int worker_id = 0;
  std::map<std::string, int, std::less<>> fds;         // socket name -> fd
  std::map<std::string, uint16_t, std::less<>> ports;  // socket name -> port
};

// Every {fd:NAME} and {port:NAME} in `text` names one of `socket_names`,
// and every such placeholder is closed. The error quotes the placeholder.
Status validate_placeholders(std::string_view text, const std::vector<std::string>& socket_names);

// The socket names that `text` refers to with {port:NAME}, in order: the
// loader refuses them for unix sockets, which have no port.
std::vector<std::string> port_placeholder_names(std::string_view text);

// `text` with each placeholder replaced. One whose name is missing from
// `values` stays as written (validation rules that out beforehand).
std::string expand_placeholders(std::string_view text, const PlaceholderValues& values);

}  // namespace corral::config
