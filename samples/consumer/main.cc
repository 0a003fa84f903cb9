// A C++ consumer of the installed package: a key tree, a Welcome, agreement.
#include <cstdio>

#include "netkey/enet.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"

int main() {
  netkey::SystemRng rng;
  netkey::SigningKey root = netkey::SigningKey::generate(rng);
  netkey::KeyTree tree(42, netkey::TreePolicy{});
  netkey::SymmetricKey secret = rng.symmetric_key();
  netkey::Batch b;
  b.joins.push_back({1, secret.clone()});
  if (!tree.commit(std::move(b), rng)) return 1;
  netkey::MemberKeys me(42, 1, secret, root.public_key());
  if (!me.apply(*netkey::encode_welcome(tree, 1)) || !(me.net_key() == tree.net_key())) return 1;
  std::printf("consumer: installed netkey works (epoch %llu, ENet clock %s)\n",
              static_cast<unsigned long long>(me.epoch()), netkey::enet::monotonic_ns() > 0 ? "ok" : "bad");
  return 0;
}
