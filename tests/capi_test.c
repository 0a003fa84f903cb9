/* The C ABI, from C alone: a server and two clients over loopback, then a stranger;
 * then a client told it left when its server vanished.
 * Usage: capi_test PKI_DIR (made by tests/cli/make_pki.sh). */
#include <stdio.h>
#include <string.h>

#include "netkey.h"

static int passes, fails;
#define CHECK(cond)                                                  \
  do {                                                               \
    if (cond) {                                                      \
      ++passes;                                                      \
    } else {                                                         \
      ++fails;                                                       \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                \
  } while (0)

typedef struct {
  int joined, left, rekeyed, messages, refused_reason, refused;
  uint32_t member, last_sender;
  uint64_t epoch;
} client_state;

typedef struct {
  int joined, left, rekeyed, messages, refused;
  uint32_t last_sender;
} server_state;

static void s_joined(void* u, uint32_t m, const char* subject, uint64_t e) {
  (void)m, (void)subject, (void)e;
  ((server_state*)u)->joined++;
}
static void s_left(void* u, uint32_t m, const char* subject, uint64_t e) {
  (void)m, (void)subject, (void)e;
  ((server_state*)u)->left++;
}
static void s_rekeyed(void* u, uint64_t e) {
  (void)e;
  ((server_state*)u)->rekeyed++;
}
static void s_message(void* u, uint32_t sender, const uint8_t* d, size_t n) {
  (void)d, (void)n;
  ((server_state*)u)->messages++;
  ((server_state*)u)->last_sender = sender;
}
static void s_refused(void* u, int reason, const char* subject) {
  (void)reason, (void)subject;
  ((server_state*)u)->refused++;
}
static void c_joined(void* u, uint32_t m, uint64_t e) {
  client_state* c = (client_state*)u;
  c->joined++;
  c->member = m;
  c->epoch = e;
}
static void c_left(void* u) { ((client_state*)u)->left++; }
static void c_rekeyed(void* u, uint64_t e) {
  ((client_state*)u)->rekeyed++;
  ((client_state*)u)->epoch = e;
}
static void c_message(void* u, uint32_t sender, const uint8_t* d, size_t n) {
  client_state* c = (client_state*)u;
  (void)d, (void)n;
  c->messages++;
  c->last_sender = sender;
}
static void c_refused(void* u, int reason) {
  ((client_state*)u)->refused++;
  ((client_state*)u)->refused_reason = reason;
}

static char path_buf[8][512];
static const char* path(int slot, const char* dir, const char* file) {
  snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, file);
  return path_buf[slot];
}

static netkey_client* make_client(const char* dir, const char* who, uint16_t port, client_state* st) {
  netkey_client_config cc;
  char cert[64], key[64];
  netkey_client* c = NULL;
  netkey_client_config_default(&cc);
  snprintf(cert, sizeof cert, "ca/%s.cert", who);
  snprintf(key, sizeof key, "ca/%s.key", who);
  cc.server_port = port;
  cc.charter_path = path(4, dir, "match.charter");
  cc.ca_public_path = path(5, dir, "ca/ca.pub");
  cc.certificate_path = path(6, dir, cert);
  cc.key_path = path(7, dir, key);
  cc.callbacks.user = st;
  cc.callbacks.joined = c_joined;
  cc.callbacks.left = c_left;
  cc.callbacks.rekeyed = c_rekeyed;
  cc.callbacks.message = c_message;
  cc.callbacks.refused = c_refused;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_OK);
  return c;
}

static netkey_server* start_server(const char* dir, server_state* st) {
  netkey_server_config sc;
  netkey_server* s = NULL;
  netkey_server_config_default(&sc);
  sc.charter_path = path(0, dir, "match.charter");
  sc.ca_public_path = path(1, dir, "ca/ca.pub");
  sc.certificate_path = path(2, dir, "ca/game-server.cert");
  sc.key_path = path(3, dir, "ca/game-server.key");
  sc.callbacks.user = st;
  sc.callbacks.joined = s_joined;
  sc.callbacks.left = s_left;
  sc.callbacks.rekeyed = s_rekeyed;
  sc.callbacks.message = s_message;
  sc.callbacks.refused = s_refused;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_OK);
  return s;
}

static void run(netkey_server* s, netkey_client** cs, int n, int rounds) {
  int r, i;
  for (r = 0; r < rounds; ++r) {
    netkey_server_poll(s, 1);
    for (i = 0; i < n; ++i) {
      if (cs[i]) netkey_client_poll(cs[i], 0);
    }
  }
}

/* Regression: a member whose server goes away (destroyed here, outside any callback)
 * was never told: the left callback did not fire on an ENet timeout. */
static void test_client_left_when_server_vanishes(const char* dir) {
  server_state ss;
  client_state b;
  netkey_server* s;
  netkey_client* cl = NULL;
  int i, bad_rc = 0;
  memset(&ss, 0, sizeof ss);
  memset(&b, 0, sizeof b);
  s = start_server(dir, &ss);
  if (!s) return;
  cl = make_client(dir, "bob", netkey_server_port(s), &b);
  for (i = 0; i < 3000 && b.joined == 0; ++i) {
    netkey_server_poll(s, 1);
    netkey_client_poll(cl, 0);
  }
  CHECK(b.joined == 1 && b.left == 0);
  netkey_server_destroy(s);
  for (i = 0; i < 2000 && b.left == 0; ++i) bad_rc += netkey_client_poll(cl, 5) != NETKEY_OK;
  CHECK(b.left == 1);
  CHECK(bad_rc == 0);
  for (i = 0; i < 20; ++i) netkey_client_poll(cl, 1);
  CHECK(b.left == 1); /* once */
  netkey_client_destroy(cl);
}

int main(int argc, char** argv) {
  const char* dir;
  netkey_server_config sc;
  netkey_server* server = NULL;
  server_state ss;
  client_state a, b, c;
  netkey_client* clients[3] = {NULL, NULL, NULL};
  const uint8_t snapshot[] = "state: tick 1";
  const uint8_t input[] = "move north";
  int i;
  if (argc != 2) {
    fprintf(stderr, "usage: capi_test PKI_DIR\n");
    return 2;
  }
  dir = argv[1];
  memset(&ss, 0, sizeof ss);
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  memset(&c, 0, sizeof c);

  /* Errors are codes with explanations; NULLs are refused, not crashes. */
  CHECK(strlen(netkey_strerror(NETKEY_ERR_IO)) > 0);
  CHECK(strcmp(netkey_strerror(12345), "unknown netkey error code") == 0);
  CHECK(netkey_server_create(NULL, &server) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_poll(NULL, 0) == NETKEY_ERR_INVALID_ARGUMENT);
  netkey_server_config_default(&sc);
  sc.charter_path = path(0, dir, "does-not-exist");
  sc.ca_public_path = path(1, dir, "ca/ca.pub");
  sc.certificate_path = path(2, dir, "ca/game-server.cert");
  sc.key_path = path(3, dir, "ca/game-server.key");
  CHECK(netkey_server_create(&sc, &server) == NETKEY_ERR_IO);
  sc.charter_path = path(0, dir, "ca/alice.cert"); /* not a charter */
  CHECK(netkey_server_create(&sc, &server) < 0);
  sc.charter_path = path(0, dir, "match.charter");
  sc.certificate_path = path(2, dir, "ca/alice.cert"); /* not the elected server */
  sc.key_path = path(3, dir, "ca/alice.key");
  CHECK(netkey_server_create(&sc, &server) == NETKEY_ERR_REFUSED);

  /* The server. */
  sc.certificate_path = path(2, dir, "ca/game-server.cert");
  sc.key_path = path(3, dir, "ca/game-server.key");
  sc.callbacks.user = &ss;
  sc.callbacks.joined = s_joined;
  sc.callbacks.left = s_left;
  sc.callbacks.rekeyed = s_rekeyed;
  sc.callbacks.message = s_message;
  sc.callbacks.refused = s_refused;
  CHECK(netkey_server_create(&sc, &server) == NETKEY_OK);
  if (!server) {
    printf("%d passed, %d failed\n", passes, fails);
    return 1;
  }
  CHECK(netkey_server_port(server) != 0);
  CHECK(netkey_server_broadcast(server, snapshot, sizeof snapshot) == NETKEY_ERR_NOT_READY);

  /* Two players join. */
  clients[0] = make_client(dir, "alice", netkey_server_port(server), &a);
  clients[1] = make_client(dir, "bob", netkey_server_port(server), &b);
  CHECK(netkey_client_send(clients[0], input, sizeof input) == NETKEY_ERR_NOT_READY);
  for (i = 0; i < 2000 && (a.joined == 0 || b.joined == 0); ++i) run(server, clients, 2, 1);
  CHECK(a.joined == 1 && b.joined == 1);
  CHECK(ss.joined == 2);
  CHECK(netkey_server_member_count(server) == 2);
  CHECK(a.member != 0 && b.member != 0 && a.member != b.member);

  /* The server's snapshot reaches both; alice's input is relayed to bob and the server. */
  CHECK(netkey_server_broadcast(server, snapshot, sizeof snapshot) == NETKEY_OK);
  CHECK(netkey_client_send(clients[0], input, sizeof input) == NETKEY_OK);
  for (i = 0; i < 2000 && (b.messages < 2 || a.messages < 1 || ss.messages < 1); ++i) run(server, clients, 2, 1);
  CHECK(a.messages == 1 && a.last_sender == 0);
  CHECK(b.messages == 2);
  CHECK(ss.messages == 1 && ss.last_sender == a.member);

  /* Alice says goodbye: the server rekeys; bob follows; alice is told she left. */
  {
    uint64_t before = netkey_server_epoch(server);
    CHECK(netkey_client_leave(clients[0]) == NETKEY_OK);
    for (i = 0; i < 3000 && (ss.left < 1 || netkey_client_epoch(clients[1]) <= before); ++i) run(server, clients, 2, 1);
    CHECK(ss.left == 1);
    CHECK(netkey_server_member_count(server) == 1);
    CHECK(netkey_client_epoch(clients[1]) == netkey_server_epoch(server));
    CHECK(netkey_client_epoch(clients[1]) > before);
    CHECK(a.left == 1);
  }

  /* Carol is not on the charter's list: refused with the typed reason. */
  clients[2] = make_client(dir, "carol", netkey_server_port(server), &c);
  for (i = 0; i < 3000 && c.refused == 0; ++i) run(server, clients, 3, 1);
  CHECK(c.refused == 1 && c.refused_reason == NETKEY_REFUSED_NOT_ON_ACL);
  CHECK(ss.refused == 1);

  for (i = 0; i < 3; ++i) netkey_client_destroy(clients[i]);
  netkey_server_destroy(server);
  netkey_server_destroy(NULL);

  test_client_left_when_server_vanishes(dir);
  printf("%d passed, %d failed\n", passes, fails);
  return fails == 0 ? 0 : 1;
}
