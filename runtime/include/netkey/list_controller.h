// netkey/list_controller.h: the List Controller (the matchmaker) after set-up.
//
// The only authority that may add or remove participants once a match runs. Each update
// is signed by the LC's key (whose key id the charter names), carries the LC's
// certificate, names the Root's group id for this run (Root::group_id(): the session
// and the Root's boot nonce), and is numbered 1, 2, 3, ...: the Root accepts exactly the
// next number, so replays and reordering are refused, and an update signed for an
// earlier run of the Root is refused after a restart (start again at 1 with the new id).
// Updates reach the Root through a channel the game trusts (Root::submit_acl_update,
// ServerHost::submit_control), never through a participant's connection. Removing a connected member is a security
// removal: the Root rekeys at once. An addition only authorises a subject, who still
// has to connect.
#ifndef NETKEY_LIST_CONTROLLER_H_
#define NETKEY_LIST_CONTROLLER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netkey/sign.h"
#include "netkey/status.h"

namespace netkey {

class ListController {
 public:
  // `certificate` must be the LC certificate for `signing_seed` (role list-controller).
  ListController(uint64_t session_id, uint64_t group_id, const SigningSeed& signing_seed,
                 std::vector<uint8_t> certificate, uint64_t next_seq = 1);

  // A signed control message: hand it to Root::submit_acl_update (or
  // ServerHost::submit_control) through a channel the game trusts. Errors:
  // kInvalidArgument for an empty update or a subject id outside 1..64 bytes.
  Result<std::shared_ptr<const std::vector<uint8_t>>> update(const std::vector<std::string>& adds,
                                                             const std::vector<std::string>& removes);
  Result<std::shared_ptr<const std::vector<uint8_t>>> add(const std::vector<std::string>& subjects) {
    return update(subjects, {});
  }
  Result<std::shared_ptr<const std::vector<uint8_t>>> remove(const std::vector<std::string>& subjects) {
    return update({}, subjects);
  }
  uint64_t next_seq() const { return next_seq_; }

 private:
  uint64_t session_id_;
  uint64_t group_id_;
  SigningKey key_;
  std::vector<uint8_t> certificate_;
  uint64_t next_seq_;
};

}  // namespace netkey

#endif  // NETKEY_LIST_CONTROLLER_H_
