// netkey-ca charter: the Initiator signs a session charter from a short text file.
#ifndef NETKEY_TOOLS_CHARTER_CMD_H_
#define NETKEY_TOOLS_CHARTER_CMD_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "netkey/charter.h"
#include "netkey/status.h"

namespace netkey::tools {

// Parses the charter text format (docs/KEYFILES.md "Charter file"). File names in it
// (root, list-controller) are resolved against `base_dir` by the caller through
// `read_cert`, which returns the certificate bytes or an error.
Result<CharterFields> parse_charter_text(const std::string& text, uint64_t now_unix, uint64_t random_session,
                                         const std::function<Result<std::vector<uint8_t>>(const std::string&)>& read_cert);
// One line per field, for `netkey-ca verify` on a charter.
std::string describe_charter(const CharterFields& f);

}  // namespace netkey::tools

#endif  // NETKEY_TOOLS_CHARTER_CMD_H_
