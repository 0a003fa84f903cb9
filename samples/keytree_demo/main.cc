// keytree_demo: what the Root's key tree does for a 1000-player match, narrated.
// Run by `make demo`. Everything here is the runtime API a game server would call.
#include <chrono>
#include <cstdio>
#include <map>
#include <vector>

#include "netkey/batch_planner.h"
#include "netkey/flat_rekey.h"
#include "netkey/keytree.h"
#include "netkey/member_keys.h"
#include "netkey/rekey_codec.h"

using namespace netkey;

int main() {
  SystemRng rng;
  SigningKey root = SigningKey::generate(rng);  // the game server's identity key
  const uint64_t group = 0x4d41544348;           // "MATCH"
  KeyTree tree(group, TreePolicy{});              // degree 4, full rekey on join
  BatchPlanner planner(tree);

  // In a real server each secret comes from the participant's handshake.
  std::map<MemberId, SymmetricKey> secrets;
  std::vector<JoinRequest> lobby;
  for (MemberId id = 1; id <= 1000; ++id) {
    secrets.emplace(id, rng.symmetric_key());
    lobby.push_back({id, secrets.at(id).clone()});
  }
  if (!planner.join_bulk(std::move(lobby))) return 1;
  auto t0 = std::chrono::steady_clock::now();
  auto setup = tree.commit(planner.take(), rng);
  auto us = [&](auto t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t).count();
  };
  std::printf("1000 players joined in one bulk batch: epoch %llu, tree depth %u, %lld us\n",
              static_cast<unsigned long long>(tree.epoch()), tree.depth(), static_cast<long long>(us(t0)));

  // Every player applies its Welcome and derives the net key.
  std::map<MemberId, MemberKeys> players;
  for (auto& [id, s] : secrets) {
    players.emplace(id, MemberKeys(group, id, s, root.public_key()));
    if (!players.at(id).apply(*encode_welcome(tree, id))) return 1;
  }

  // One player leaves: O(log n) wrapped keys.
  if (!planner.leave(500)) return 1;
  auto one = tree.commit(planner.take(), rng).value();
  std::printf("player 500 left: %zu wrapped keys (flat rekeying would need 999)\n", one.wrapped_keys());
  auto whole = encode_whole(one, root);
  for (auto& [id, p] : players) {
    Status s = p.apply(whole);
    if (id == 500) std::printf("  player 500 tries the rekey: %s\n", s.to_string().c_str());
  }

  // 10 % churn in one batch: 100 leave, 100 join.
  std::vector<MemberId> leaving;
  for (MemberId id = 1; id <= 100; ++id) leaving.push_back(id);
  if (!planner.leave_bulk(leaving)) return 1;
  std::vector<JoinRequest> fresh;
  for (MemberId id = 2001; id <= 2100; ++id) {
    secrets.emplace(id, rng.symmetric_key());
    fresh.push_back({id, secrets.at(id).clone()});
  }
  if (!planner.join_bulk(std::move(fresh))) return 1;
  t0 = std::chrono::steady_clock::now();
  auto churn = tree.commit(planner.take(), rng).value();
  auto churn_whole = encode_whole(churn, root);
  long long plan_us = us(t0);
  SliceEncoder slicer(churn);
  size_t slice_bytes = 0, sliced = 0, agree = 0;
  for (auto& [id, p] : players) {
    if (id <= 100 || id == 500) continue;
    auto sl = slicer.encode(tree, id);
    slice_bytes += sl->size();
    ++sliced;
    if (p.apply(*sl) && p.net_key() == tree.net_key()) ++agree;
  }
  std::printf("10%% churn (100 leave + 100 join) in one batch: %zu wrapped keys, planned and signed in %lld us\n",
              churn.wrapped_keys(), plan_us);
  std::printf("  Whole message: %zu bytes to every player; Slice: %zu bytes per player on average\n",
              churn_whole.size(), slice_bytes / sliced);
  std::printf("  %zu of %zu remaining players derived exactly the server's net key\n", agree, sliced);
  std::printf("  players 1-100 who left cannot: %s\n",
              players.at(1).apply(churn_whole).to_string().c_str());
  return agree == sliced ? 0 : 1;
}
