// fuzz_rekey: Whole, Slice, Welcome and Resync as a welcomed member applies them.
#include <cstdint>

#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace netkey;
  static DeterministicRng rng(5);
  static const SigningKey root = SigningKey::generate(rng);
  static const SymmetricKey secret = rng.symmetric_key();
  static std::vector<uint8_t> welcome = [] {
    KeyTree tree(7, TreePolicy{});
    Batch b;
    b.joins.push_back({1, secret.clone()});
    for (MemberId id = 2; id < 20; ++id) b.joins.push_back({id, rng.symmetric_key()});
    (void)tree.commit(std::move(b), rng);
    return encode_welcome(tree, 1).value();
  }();
  MemberKeys keys(7, 1, secret, root.public_key());
  if (!keys.apply(welcome)) return 0;
  (void)keys.apply({data, size});
  (void)keys.apply_whole({data, size});
  (void)keys.apply_sealed({data, size});
  return 0;
}
