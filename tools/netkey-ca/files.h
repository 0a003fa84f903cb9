// File helpers for the netkey tools: whole-file reads with a size cap, and writes that
// create secret files with mode 0600 from the start (no window with wider permissions).
#ifndef NETKEY_TOOLS_FILES_H_
#define NETKEY_TOOLS_FILES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "netkey/status.h"

namespace netkey::tools {

// Errors: kIo ("cannot read <path>: <reason>"), kTooLarge beyond max_bytes.
Result<std::vector<uint8_t>> read_file(const std::string& path, size_t max_bytes);
// Writes atomically-enough for a CLI: O_CREAT|O_EXCL, so an existing file is never
// overwritten. mode is 0600 for secrets, 0644 otherwise. Errors: kIo.
Status write_new_file(const std::string& path, const void* data, size_t size, unsigned mode);

}  // namespace netkey::tools

#endif  // NETKEY_TOOLS_FILES_H_
