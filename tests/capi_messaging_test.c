/* The C ABI's game messaging (ABI 2, issue 12), from C: team assignment, team
 * broadcasts that only the team receives, private messages that only their member (or
 * the server) receives, delivery classes, the message_ex callbacks, the new error codes,
 * and an ABI 1 caller (a struct_size that ends before message_ex) that keeps getting the
 * old callback. Every "nobody else got it" check is closed by a sentinel broadcast to
 * everyone that arrives after it (ordered behind it on the reliable channel), so a late
 * copy would have shown. Run by capi_test (capi_messaging_tests) against teams.charter
 * (tree_teams 2; tests/cli/make_pki.sh). */
#include <string.h>

#include "support/capi_harness.h"

enum { ALICE, BOB, CAROL, PLAYERS };
static const char* const kNames[PLAYERS] = {"alice", "bob", "carol"};

static netkey_server* teams_server(const char* dir, server_state* ss, int with_ex) {
  netkey_server_config sc;
  netkey_server* s = NULL;
  netkey_server_config_init(&sc);
  fill_server(&sc, dir, ss);
  sc.charter_path = path(0, dir, "teams.charter");
  if (with_ex) sc.message_ex = s_message_ex;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_OK);
  return s;
}

/* A client on teams.charter; struct_size as given (0: the full struct). */
static netkey_client* teams_client(const char* dir, const char* who, uint16_t port,
                                   client_state* st, uint32_t struct_size) {
  netkey_client_config cc;
  netkey_client* c = NULL;
  netkey_client_config_init(&cc);
  fill_client(&cc, dir, who, port, st);
  cc.charter_path = path(4, dir, "teams.charter");
  cc.message_ex = c_message_ex;
  if (struct_size != 0) cc.struct_size = struct_size;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_OK);
  return c;
}

/* Polls until every client's ex.calls reaches want[i] (or the old messages count, for
 * want_old) or 3 s pass. */
static void run_until(netkey_server* s, netkey_client** cl, client_state* st, const int* want) {
  int i, k, done = 0;
  for (i = 0; i < 3000 && !done; ++i) {
    run(s, cl, PLAYERS, 1);
    done = 1;
    for (k = 0; k < PLAYERS; ++k) done = done && st[k].ex.calls >= want[k];
  }
}

/* A reliable broadcast to everyone, then polls until every client got it: whatever was
 * sent to anyone before it has arrived by then or never will (the events channel is
 * ordered per peer, and the rest is given the same time). */
static void sentinel(netkey_server* s, netkey_client** cl, client_state* st) {
  const uint8_t tick[] = "sentinel";
  int want[PLAYERS], k;
  for (k = 0; k < PLAYERS; ++k) want[k] = st[k].ex.by_kind[NETKEY_MESSAGE_BROADCAST] + 1;
  CHECK(netkey_server_broadcast_ex(s, tick, sizeof tick, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  for (k = 0; k < 3000; ++k) {
    int done = 1, i;
    run(s, cl, PLAYERS, 1);
    for (i = 0; i < PLAYERS; ++i) done = done && st[i].ex.by_kind[NETKEY_MESSAGE_BROADCAST] >= want[i];
    if (done) break;
  }
  for (k = 0; k < PLAYERS; ++k) CHECK(st[k].ex.by_kind[NETKEY_MESSAGE_BROADCAST] == want[k]);
  run(s, cl, PLAYERS, 50);
}

static int all_at_epoch(netkey_server* s, netkey_client** cl) {
  int k;
  for (k = 0; k < PLAYERS; ++k) {
    if (netkey_client_epoch(cl[k]) != netkey_server_epoch(s)) return 0;
  }
  return 1;
}

/* Errors before anyone joined: the new codes, each with its control. */
static void errors_before_join(netkey_server* s, netkey_client* alice) {
  uint8_t big[1201];
  const uint8_t hi[] = "hi";
  memset(big, 1, sizeof big);
  CHECK(netkey_server_broadcast_team(s, 2, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NO_SUCH_TEAM);
  CHECK(netkey_server_broadcast_team(s, 0, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NOT_READY);
  CHECK(netkey_server_broadcast_team(s, 0, big, sizeof big, NETKEY_DELIVERY_UNRELIABLE) ==
        NETKEY_ERR_TOO_LARGE);
  CHECK(netkey_server_broadcast_team(s, 0, hi, sizeof hi, 3) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_broadcast_ex(s, hi, sizeof hi, -1) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_send_private(s, 1, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NOT_A_MEMBER);
  CHECK(netkey_server_assign_team(s, "alice", 2) == NETKEY_ERR_NO_SUCH_TEAM);
  CHECK(netkey_server_assign_team(s, NULL, 0) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_assign_team(s, "", 0) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_member_team(s, 1) == NETKEY_NO_TEAM);
  /* A reliable send before the Welcome: no key to seal under yet. */
  CHECK(netkey_client_send_ex(alice, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NOT_READY);
  CHECK(netkey_client_send_private(alice, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NOT_READY);
  CHECK(netkey_client_send_ex(alice, hi, sizeof hi, 9) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_client_team(alice) == NETKEY_NO_TEAM);
  CHECK(netkey_client_team(NULL) == NETKEY_NO_TEAM &&
        netkey_server_member_team(NULL, 1) == NETKEY_NO_TEAM);
  CHECK(strstr(netkey_strerror(NETKEY_ERR_NO_SUCH_TEAM), "team") != NULL);
  CHECK(strstr(netkey_strerror(NETKEY_ERR_NOT_A_MEMBER), "member") != NULL);
  CHECK(strstr(netkey_strerror(NETKEY_ERR_TOO_LARGE), "max_payload") != NULL);
}

/* A team broadcast reaches that team's members, with kind TEAM, the team and the
 * delivery; the other team's member gets nothing of it. */
static void team_broadcasts(netkey_server* s, netkey_client** cl, client_state* st) {
  const uint8_t t0[] = "team 0 only", t1[] = "team 1 only";
  int want[PLAYERS] = {st[ALICE].ex.calls + 1, st[BOB].ex.calls, st[CAROL].ex.calls + 1};
  CHECK(netkey_server_broadcast_team(s, 0, t0, sizeof t0, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  run_until(s, cl, st, want);
  CHECK(st[ALICE].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 && st[CAROL].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1);
  CHECK(st[ALICE].ex.kind == NETKEY_MESSAGE_TEAM && st[ALICE].ex.team == 0 &&
        st[ALICE].ex.sender == 0 && st[ALICE].ex.delivery == NETKEY_DELIVERY_RELIABLE_ORDERED);
  CHECK(st[ALICE].ex.size == sizeof t0 && memcmp(st[ALICE].ex.payload, t0, sizeof t0) == 0);
  CHECK(st[CAROL].ex.team == 0 && memcmp(st[CAROL].ex.payload, t0, sizeof t0) == 0);
  sentinel(s, cl, st);
  CHECK(st[BOB].ex.by_kind[NETKEY_MESSAGE_TEAM] == 0); /* the other team's client: nothing */
  want[BOB] = st[BOB].ex.calls + 1;
  want[ALICE] = st[ALICE].ex.calls;
  want[CAROL] = st[CAROL].ex.calls;
  CHECK(netkey_server_broadcast_team(s, 1, t1, sizeof t1, NETKEY_DELIVERY_UNRELIABLE_SEQUENCED) ==
        NETKEY_OK);
  run_until(s, cl, st, want);
  CHECK(st[BOB].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 && st[BOB].ex.team == 1 &&
        memcmp(st[BOB].ex.payload, t1, sizeof t1) == 0);
  CHECK(st[BOB].ex.delivery == NETKEY_DELIVERY_UNRELIABLE_SEQUENCED);
  sentinel(s, cl, st);
  CHECK(st[ALICE].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 && st[CAROL].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1);
}

/* A private message reaches its member only; a member's private message reaches the
 * server only (with its kind and team), never relayed; a reliable member message is
 * relayed with its delivery. */
static void private_messages(netkey_server* s, netkey_client** cl, client_state* st,
                             server_state* ss) {
  const uint8_t hp[] = "health 80 ammo 12", secret[] = "bob to server", chat[] = "gg";
  uint8_t big[1201];
  int want[PLAYERS] = {st[ALICE].ex.calls + 1, st[BOB].ex.calls, st[CAROL].ex.calls};
  int i;
  memset(big, 2, sizeof big);
  CHECK(netkey_server_send_private(s, st[ALICE].member, big, sizeof big,
                                   NETKEY_DELIVERY_RELIABLE_ORDERED) == NETKEY_ERR_TOO_LARGE);
  CHECK(netkey_server_send_private(s, 4242, hp, sizeof hp, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NOT_A_MEMBER);
  CHECK(netkey_server_send_private(s, st[ALICE].member, hp, sizeof hp,
                                   NETKEY_DELIVERY_RELIABLE_ORDERED) == NETKEY_OK);
  run_until(s, cl, st, want);
  CHECK(st[ALICE].ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 1 &&
        st[ALICE].ex.kind == NETKEY_MESSAGE_PRIVATE && st[ALICE].ex.sender == 0 &&
        st[ALICE].ex.team == NETKEY_NO_TEAM);
  CHECK(st[ALICE].ex.size == sizeof hp && memcmp(st[ALICE].ex.payload, hp, sizeof hp) == 0);
  sentinel(s, cl, st);
  CHECK(st[BOB].ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 0 &&
        st[CAROL].ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 0);

  CHECK(netkey_client_send_private(cl[BOB], big, sizeof big, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_TOO_LARGE);
  CHECK(netkey_client_send_ex(cl[BOB], big, sizeof big, NETKEY_DELIVERY_UNRELIABLE) ==
        NETKEY_ERR_TOO_LARGE);
  CHECK(netkey_client_send_private(cl[BOB], secret, sizeof secret,
                                   NETKEY_DELIVERY_RELIABLE_ORDERED) == NETKEY_OK);
  for (i = 0; i < 3000 && ss->ex.by_kind[NETKEY_MESSAGE_PRIVATE] < 1; ++i) run(s, cl, PLAYERS, 1);
  CHECK(ss->ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 1 && ss->ex.sender == st[BOB].member &&
        ss->ex.team == 1 && ss->ex.delivery == NETKEY_DELIVERY_RELIABLE_ORDERED);
  CHECK(ss->ex.size == sizeof secret && memcmp(ss->ex.payload, secret, sizeof secret) == 0);
  CHECK(ss->messages == 0); /* message_ex set: the ABI 1 callback stays quiet */
  sentinel(s, cl, st);
  CHECK(st[ALICE].ex.by_kind[NETKEY_MESSAGE_MEMBER] == 0 &&
        st[CAROL].ex.by_kind[NETKEY_MESSAGE_MEMBER] == 0 &&
        st[ALICE].ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 1); /* never relayed */

  /* The control: a member message (relay on by default) does reach the others. */
  CHECK(netkey_client_send_ex(cl[ALICE], chat, sizeof chat, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  want[ALICE] = st[ALICE].ex.calls;
  want[BOB] = st[BOB].ex.calls + 1;
  want[CAROL] = st[CAROL].ex.calls + 1;
  run_until(s, cl, st, want);
  CHECK(st[BOB].ex.by_kind[NETKEY_MESSAGE_MEMBER] == 1 && st[BOB].ex.sender == st[ALICE].member &&
        st[BOB].ex.delivery == NETKEY_DELIVERY_RELIABLE_ORDERED &&
        memcmp(st[BOB].ex.payload, chat, sizeof chat) == 0);
  CHECK(st[CAROL].ex.by_kind[NETKEY_MESSAGE_MEMBER] == 1);
  for (i = 0; i < 3000 && ss->ex.by_kind[NETKEY_MESSAGE_MEMBER] < 1; ++i) run(s, cl, PLAYERS, 1);
  CHECK(ss->ex.by_kind[NETKEY_MESSAGE_MEMBER] == 1 && ss->ex.sender == st[ALICE].member &&
        ss->ex.team == 0);
}

/* Carol switches from team 0 to team 1 at the next rekey: from then on she gets team
 * 1's broadcasts and not team 0's. */
static void switch_team(netkey_server* s, netkey_client** cl, client_state* st) {
  const uint8_t t0[] = "team 0 after", t1[] = "team 1 after";
  const uint64_t before = netkey_server_epoch(s);
  int i, want[PLAYERS];
  CHECK(netkey_server_assign_team(s, "carol", 1) == NETKEY_OK);
  for (i = 0; i < 3000 && !(netkey_server_epoch(s) > before && all_at_epoch(s, cl)); ++i)
    run(s, cl, PLAYERS, 1);
  CHECK(netkey_server_epoch(s) > before && all_at_epoch(s, cl));
  CHECK(netkey_client_team(cl[CAROL]) == 1 && netkey_server_member_team(s, st[CAROL].member) == 1);
  CHECK(netkey_client_team(cl[ALICE]) == 0 && netkey_client_team(cl[BOB]) == 1);
  st[ALICE].ex.by_kind[NETKEY_MESSAGE_TEAM] = st[BOB].ex.by_kind[NETKEY_MESSAGE_TEAM] = 0;
  st[CAROL].ex.by_kind[NETKEY_MESSAGE_TEAM] = 0;
  want[ALICE] = st[ALICE].ex.calls + 1;
  want[BOB] = st[BOB].ex.calls + 1;
  want[CAROL] = st[CAROL].ex.calls + 1;
  CHECK(netkey_server_broadcast_team(s, 0, t0, sizeof t0, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  CHECK(netkey_server_broadcast_team(s, 1, t1, sizeof t1, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  run_until(s, cl, st, want);
  sentinel(s, cl, st);
  CHECK(st[ALICE].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 && st[BOB].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 &&
        st[CAROL].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1);
  CHECK(st[CAROL].ex.kind == NETKEY_MESSAGE_BROADCAST); /* the sentinel was her last */
}

static void teams_match(const char* dir) {
  server_state ss;
  client_state st[PLAYERS];
  netkey_client* cl[PLAYERS] = {NULL, NULL, NULL};
  netkey_server* s;
  int i, k;
  memset(&ss, 0, sizeof ss);
  memset(st, 0, sizeof st);
  s = teams_server(dir, &ss, 1);
  if (s == NULL) return;
  for (k = 0; k < PLAYERS; ++k)
    cl[k] = teams_client(dir, kNames[k], netkey_server_port(s), &st[k], 0);
  errors_before_join(s, cl[ALICE]);
  /* Assigned before they join: alice and carol in team 0, bob in team 1. */
  CHECK(netkey_server_assign_team(s, "alice", 0) == NETKEY_OK);
  CHECK(netkey_server_assign_team(s, "bob", 1) == NETKEY_OK);
  CHECK(netkey_server_assign_team(s, "carol", 0) == NETKEY_OK);
  for (i = 0;
       i < 3000 && !(st[ALICE].joined && st[BOB].joined && st[CAROL].joined && all_at_epoch(s, cl));
       ++i) {
    run(s, cl, PLAYERS, 1);
  }
  CHECK(st[ALICE].joined && st[BOB].joined && st[CAROL].joined && all_at_epoch(s, cl));
  CHECK(netkey_client_team(cl[ALICE]) == 0 && netkey_client_team(cl[BOB]) == 1 &&
        netkey_client_team(cl[CAROL]) == 0);
  CHECK(netkey_server_member_team(s, st[ALICE].member) == 0 &&
        netkey_server_member_team(s, st[BOB].member) == 1);
  team_broadcasts(s, cl, st);
  private_messages(s, cl, st, &ss);
  switch_team(s, cl, st);
  for (k = 0; k < PLAYERS; ++k) netkey_client_destroy(cl[k]);
  netkey_server_destroy(s);
}

/* An ABI 1 caller: struct_size ends before message_ex, which holds a callback that must
 * not be read. The old `message` fires instead, for team and private messages too, with
 * sender 0. The control: the same config at full size uses message_ex. */
static void old_struct_keeps_old_callback(const char* dir) {
  server_state ss;
  client_state st[2];
  netkey_client* cl[2] = {NULL, NULL};
  netkey_server* s;
  const uint8_t team[] = "team", priv[] = "private";
  const uint32_t abi1 = (uint32_t)offsetof(netkey_client_config, message_ex);
  int i;
  memset(&ss, 0, sizeof ss);
  memset(st, 0, sizeof st);
  s = teams_server(dir, &ss, 0);
  if (s == NULL) return;
  CHECK(netkey_server_assign_team(s, "alice", 0) == NETKEY_OK);
  CHECK(netkey_server_assign_team(s, "bob", 0) == NETKEY_OK);
  cl[0] = teams_client(dir, "alice", netkey_server_port(s), &st[0], abi1);
  cl[1] = teams_client(dir, "bob", netkey_server_port(s), &st[1], 0);
  CHECK(join_two(s, cl, &st[0], &st[1]));
  CHECK(netkey_server_broadcast_team(s, 0, team, sizeof team, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  CHECK(netkey_server_send_private(s, st[0].member, priv, sizeof priv,
                                   NETKEY_DELIVERY_RELIABLE_ORDERED) == NETKEY_OK);
  CHECK(netkey_server_send_private(s, st[1].member, priv, sizeof priv,
                                   NETKEY_DELIVERY_RELIABLE_ORDERED) == NETKEY_OK);
  for (i = 0; i < 3000 && (st[0].messages < 2 || st[1].ex.calls < 2); ++i) run(s, cl, 2, 1);
  CHECK(st[0].messages == 2 && st[0].last_sender == 0 && st[0].ex.calls == 0);
  CHECK(st[1].ex.calls == 2 && st[1].messages == 0); /* the control */
  CHECK(st[1].ex.by_kind[NETKEY_MESSAGE_TEAM] == 1 && st[1].ex.by_kind[NETKEY_MESSAGE_PRIVATE] == 1);
  /* The server without message_ex: the old callback gets a member's private message. */
  CHECK(netkey_client_send_private(cl[0], priv, sizeof priv, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK);
  for (i = 0; i < 3000 && ss.messages < 1; ++i) run(s, cl, 2, 1);
  CHECK(ss.messages == 1 && ss.last_sender == st[0].member && ss.ex.calls == 0);
  for (i = 0; i < 2; ++i) netkey_client_destroy(cl[i]);
  netkey_server_destroy(s);
}

/* A charter without teams: every team call is NETKEY_ERR_NO_SUCH_TEAM, and nobody has a
 * team. */
static void no_teams(const char* dir) {
  server_state ss;
  client_state a, b;
  netkey_client* cl[2] = {NULL, NULL};
  netkey_server* s;
  const uint8_t hi[] = "hi";
  memset(&ss, 0, sizeof ss);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  s = start_server(dir, &ss);
  if (s == NULL) return;
  CHECK(netkey_server_assign_team(s, "alice", 0) == NETKEY_ERR_NO_SUCH_TEAM);
  cl[0] = make_client(dir, "alice", netkey_server_port(s), &a);
  cl[1] = make_client(dir, "bob", netkey_server_port(s), &b);
  CHECK(join_two(s, cl, &a, &b));
  CHECK(netkey_server_broadcast_team(s, 0, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_ERR_NO_SUCH_TEAM);
  CHECK(netkey_client_team(cl[0]) == NETKEY_NO_TEAM &&
        netkey_server_member_team(s, a.member) == NETKEY_NO_TEAM);
  CHECK(netkey_server_broadcast_ex(s, hi, sizeof hi, NETKEY_DELIVERY_RELIABLE_ORDERED) ==
        NETKEY_OK); /* control */
  netkey_client_destroy(cl[0]);
  netkey_client_destroy(cl[1]);
  netkey_server_destroy(s);
}

void capi_messaging_tests(const char* dir) {
  teams_match(dir);
  old_struct_keeps_old_callback(dir);
  no_teams(dir);
}
