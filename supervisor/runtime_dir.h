// The private directory for corral's sockets: $XDG_RUNTIME_DIR/corral when
// XDG_RUNTIME_DIR is set; else /run/corral as root, /tmp/corral-UID
// otherwise. Created 0700; refused when another user owns it or it is a
// symlink, since its sockets are only as private as the directory.
#pragma once

#include <string>

#include "base/result.h"

namespace corral::supervisor {

// `xdg_runtime_dir` is the variable's value ("" when unset).
std::string default_runtime_dir(const std::string& xdg_runtime_dir, unsigned uid);

Result<std::string> ensure_private_dir(const std::string& path);

}  // namespace corral::supervisor
