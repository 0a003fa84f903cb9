// netkey-arena's game: players move on a 1000x1000 field and shoot whoever is near.
// Plain game state, nothing of netkey's: the server feeds it input and broadcasts its
// snapshots, team positions and private statuses (samples/arena/main.cc).
#ifndef NETKEY_SAMPLES_ARENA_GAME_H_
#define NETKEY_SAMPLES_ARENA_GAME_H_

#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "netkey/keytree.h"

namespace netkey::arena {

struct Player {
  int16_t x = 500, y = 500;
  uint16_t score = 0;
  int team = -1;
  uint8_t health = 100, ammo = 30;
};

class Arena {
 public:
  // Returns true when the input was a shot that hit (a kill event).
  bool on_input(MemberId id, std::span<const uint8_t> in) {
    if (in.size() < 3) return false;
    Player& p = players_[id];
    p.x = static_cast<int16_t>(std::clamp(p.x + (static_cast<int>(in[0]) - 1) * 5, 0, 1000));
    p.y = static_cast<int16_t>(std::clamp(p.y + (static_cast<int>(in[1]) - 1) * 5, 0, 1000));
    if (in[2]) {
      for (auto& [other, q] : players_) {
        if (other != id && std::abs(q.x - p.x) + std::abs(q.y - p.y) < 60) {
          ++p.score;
          p.ammo = static_cast<uint8_t>(p.ammo == 0 ? 30 : p.ammo - 1);
          q.health = static_cast<uint8_t>(q.health <= 10 ? 100 : q.health - 10);
          return true;
        }
      }
    }
    return false;
  }
  void join(MemberId id, int team) { players_[id].team = team; }
  void set_team(MemberId id, int team) {
    auto it = players_.find(id);
    if (it != players_.end()) it->second.team = team;
  }
  // 'T', team, count u16, then up to 120 of that team's players: id u16, x i16, y i16.
  std::vector<uint8_t> team_positions(int team) const {
    std::vector<uint8_t> s = {'T', static_cast<uint8_t>(team), 0, 0};
    uint16_t n = 0;
    for (const auto& [id, p] : players_) {
      if (p.team != team || n == 120) continue;
      ++n;
      for (uint32_t v : {uint32_t{id}, uint32_t(uint16_t(p.x)), uint32_t(uint16_t(p.y))}) {
        s.push_back(static_cast<uint8_t>(v));
        s.push_back(static_cast<uint8_t>(v >> 8));
      }
    }
    s[2] = static_cast<uint8_t>(n);
    s[3] = static_cast<uint8_t>(n >> 8);
    return s;
  }
  // 'P', le32 member, health, ammo: what only that player may see.
  std::vector<uint8_t> private_status(MemberId id) const {
    const Player& p = players_.at(id);
    return {'P', static_cast<uint8_t>(id), static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id >> 16),
            static_cast<uint8_t>(id >> 24), p.health, p.ammo};
  }
  const std::map<MemberId, Player>& players() const { return players_; }
  void leave(MemberId id) { players_.erase(id); }
  // tick u32, count u16, then up to 120 players: id u16, x i16, y i16, score u16.
  std::vector<uint8_t> snapshot(uint32_t tick) const {
    std::vector<uint8_t> s;
    auto put16 = [&](uint32_t v) {
      s.push_back(static_cast<uint8_t>(v));
      s.push_back(static_cast<uint8_t>(v >> 8));
    };
    put16(tick);
    put16(tick >> 16);
    const size_t n = std::min<size_t>(players_.size(), 120);
    put16(static_cast<uint32_t>(n));
    size_t k = 0;
    for (const auto& [id, p] : players_) {
      if (k++ == n) break;
      put16(id);
      put16(static_cast<uint16_t>(p.x));
      put16(static_cast<uint16_t>(p.y));
      put16(p.score);
    }
    return s;
  }
  size_t size() const { return players_.size(); }

 private:
  std::map<MemberId, Player> players_;
};

}  // namespace netkey::arena

#endif  // NETKEY_SAMPLES_ARENA_GAME_H_
