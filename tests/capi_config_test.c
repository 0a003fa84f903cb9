/* The C ABI's versions and versioned configs, from C: netkey_version and
 * netkey_abi_version; the struct_size rules (init writes only whole fields its size
 * covers, an old caller's smaller struct gets the defaults, a size below the core is
 * refused); the server's and client's settings (range checks, relay off, a payload
 * limit). Run by capi_test (capi_config_tests). */
#include <stdio.h>
#include <string.h>

#include "support/capi_harness.h"

static void test_versions(void) {
  unsigned major, minor, patch;
  char tail;
  const char* v = netkey_version();
  CHECK(v != NULL && sscanf(v, "%u.%u.%u%c", &major, &minor, &patch, &tail) == 3);
  CHECK(netkey_abi_version() == NETKEY_ABI_VERSION);
}

/* Bytes [from, to) of p all equal b. */
static int all_bytes(const void* p, size_t from, size_t to, unsigned char b) {
  const unsigned char* u = (const unsigned char*)p;
  size_t i;
  for (i = from; i < to; ++i) {
    if (u[i] != b) return 0;
  }
  return 1;
}

/* init: the defaults netkey.h documents, and the size rules: only whole fields that
 * struct_size covers are written, a newer (larger) struct's unknown tail is zeroed, and a
 * size below the core is refused. */
static void test_config_init(void) {
  union {
    netkey_server_config c;
    unsigned char b[sizeof(netkey_server_config) + 16];
  } u;
  netkey_server_config sc;
  netkey_client_config cc;
  const size_t min = NETKEY_SERVER_CONFIG_MIN_SIZE;
  CHECK(netkey_server_config_init(&sc) == NETKEY_OK);
  CHECK(sc.struct_size == sizeof sc && sc.port == 0 && strcmp(sc.bind_host, "127.0.0.1") == 0);
  CHECK(sc.charter_path == NULL && sc.key_path == NULL && sc.callbacks.user == NULL &&
        sc.callbacks.message == NULL);
  CHECK(sc.rekey_encoding == NETKEY_REKEY_AUTO && sc.auto_whole_max_bytes == 4096 &&
        sc.relay_member_traffic == 1);
  CHECK(sc.handshake_timeout_ms == 10000 && sc.cookie_lifetime_ms == 10000);
  CHECK(sc.peer_timeout_min_ms == 1000 && sc.peer_timeout_max_ms == 3000 &&
        sc.peer_timeout_limit == 32);
  CHECK(sc.max_payload == 1200);
  CHECK(netkey_client_config_init(&cc) == NETKEY_OK);
  CHECK(cc.struct_size == sizeof cc && strcmp(cc.server_host, "127.0.0.1") == 0 &&
        cc.handshake_timeout_ms == 10000);
  CHECK(cc.peer_timeout_min_ms == 1000 && cc.peer_timeout_max_ms == 3000 &&
        cc.peer_timeout_limit == 32);
  CHECK(cc.max_payload == 1200);

  /* An old caller's struct (the core only): nothing past it is written. */
  memset(u.b, 0xAB, sizeof u.b);
  CHECK(netkey_server_config_init_sized(&u.c, (uint32_t)min) == NETKEY_OK);
  CHECK(u.c.struct_size == min && strcmp(u.c.bind_host, "127.0.0.1") == 0 &&
        u.c.callbacks.refused == NULL);
  CHECK(all_bytes(u.b, min, sizeof u.b, 0xAB));
  /* A size that ends inside a field covers none of it. */
  memset(u.b, 0xAB, sizeof u.b);
  CHECK(netkey_server_config_init_sized(&u.c, (uint32_t)min + 2) == NETKEY_OK);
  CHECK(u.c.struct_size == min + 2 && all_bytes(u.b, min, sizeof u.b, 0xAB));
  /* One field more: that field is written, the next is not. */
  memset(u.b, 0xAB, sizeof u.b);
  CHECK(netkey_server_config_init_sized(&u.c, (uint32_t)(min + sizeof(int32_t))) == NETKEY_OK);
  CHECK(u.c.rekey_encoding == NETKEY_REKEY_AUTO &&
        all_bytes(u.b, min + sizeof(int32_t), sizeof u.b, 0xAB));
  /* A newer header's struct: our fields get defaults, the 16 unknown bytes are zeroed. */
  memset(u.b, 0xAB, sizeof u.b);
  CHECK(netkey_server_config_init_sized(&u.c, (uint32_t)sizeof u.b) == NETKEY_OK);
  CHECK(u.c.struct_size == sizeof u.b && u.c.max_payload == 1200 && u.c.relay_member_traffic == 1);
  CHECK(all_bytes(u.b, sizeof(netkey_server_config), sizeof u.b, 0));

  /* Too small: refused with the struct-size code, and nothing written. */
  memset(u.b, 0xAB, sizeof u.b);
  CHECK(netkey_server_config_init_sized(&u.c, (uint32_t)min - 1) == NETKEY_ERR_STRUCT_SIZE);
  CHECK(netkey_server_config_init_sized(&u.c, 0) == NETKEY_ERR_STRUCT_SIZE);
  CHECK(all_bytes(u.b, 0, sizeof u.b, 0xAB));
  CHECK(netkey_server_config_init_sized(NULL, sizeof sc) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_client_config_init_sized(&cc, NETKEY_CLIENT_CONFIG_MIN_SIZE - 1) ==
        NETKEY_ERR_STRUCT_SIZE);
  CHECK(netkey_client_config_init_sized(&cc, 0) == NETKEY_ERR_STRUCT_SIZE);
  CHECK(strstr(netkey_strerror(NETKEY_ERR_STRUCT_SIZE), "struct_size") != NULL);
}

/* create refuses a bad struct_size before anything else; the same config with the right
 * size is the control. */
static void test_create_struct_size(const char* dir) {
  server_state ss;
  client_state cs;
  netkey_server_config sc;
  netkey_client_config cc;
  netkey_server* s = (netkey_server*)&sc; /* any non-NULL value: create must reset it */
  netkey_client* c = NULL;
  memset(&ss, 0, sizeof ss);
  memset(&cs, 0, sizeof cs);
  netkey_server_config_init(&sc);
  fill_server(&sc, dir, &ss);
  sc.struct_size = 0;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_ERR_STRUCT_SIZE && s == NULL);
  sc.struct_size = NETKEY_SERVER_CONFIG_MIN_SIZE - 1;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_ERR_STRUCT_SIZE && s == NULL);
  sc.struct_size = sizeof sc;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_OK && s != NULL);
  netkey_server_destroy(s);
  netkey_client_config_init(&cc);
  fill_client(&cc, dir, "alice", 9, &cs);
  cc.struct_size = 0;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_STRUCT_SIZE && c == NULL);
  cc.struct_size = NETKEY_CLIENT_CONFIG_MIN_SIZE - 1;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_STRUCT_SIZE && c == NULL);
  cc.struct_size = sizeof cc;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_OK && c != NULL);
  netkey_client_destroy(c);
}

typedef enum {
  BAD_ENCODING,
  BAD_ENCODING_NEG,
  BAD_HANDSHAKE,
  BAD_COOKIE,
  BAD_PEER_MIN,
  BAD_PEER_ORDER,
  BAD_PEER_LIMIT,
  BAD_PAYLOAD_ZERO,
  BAD_PAYLOAD_BIG,
  BAD_COUNT
} bad_setting;

static void spoil_server(netkey_server_config* sc, bad_setting b) {
  switch (b) {
    case BAD_ENCODING:
      sc->rekey_encoding = NETKEY_REKEY_WHOLE + 1;
      break;
    case BAD_ENCODING_NEG:
      sc->rekey_encoding = -1;
      break;
    case BAD_HANDSHAKE:
      sc->handshake_timeout_ms = 0;
      break;
    case BAD_COOKIE:
      sc->cookie_lifetime_ms = 0;
      break;
    case BAD_PEER_MIN:
      sc->peer_timeout_min_ms = 0;
      break;
    case BAD_PEER_ORDER:
      sc->peer_timeout_min_ms = sc->peer_timeout_max_ms + 1;
      break;
    case BAD_PEER_LIMIT:
      sc->peer_timeout_limit = 0;
      break;
    case BAD_PAYLOAD_ZERO:
      sc->max_payload = 0;
      break;
    case BAD_PAYLOAD_BIG:
      sc->max_payload = NETKEY_MAX_PAYLOAD_LIMIT + 1;
      break;
    case BAD_COUNT:
      break;
  }
}

/* Every setting out of range is refused; the edges of the ranges are accepted. */
static void test_settings_checked(const char* dir) {
  server_state ss;
  client_state cs;
  netkey_server_config sc;
  netkey_client_config cc;
  netkey_server* s = NULL;
  netkey_client* c = NULL;
  int b, refused = 0;
  memset(&ss, 0, sizeof ss);
  memset(&cs, 0, sizeof cs);
  for (b = 0; b < BAD_COUNT; ++b) {
    netkey_server_config_init(&sc);
    fill_server(&sc, dir, &ss);
    spoil_server(&sc, (bad_setting)b);
    if (netkey_server_create(&sc, &s) == NETKEY_ERR_INVALID_ARGUMENT && s == NULL) {
      refused++;
    } else {
      fprintf(stderr, "bad server setting %d accepted\n", b);
    }
    netkey_server_destroy(s);
    s = NULL;
  }
  CHECK(refused == BAD_COUNT);
  netkey_server_config_init(&sc);
  fill_server(&sc, dir, &ss);
  sc.rekey_encoding = NETKEY_REKEY_SLICES;
  sc.max_payload = NETKEY_MAX_PAYLOAD_LIMIT;
  sc.peer_timeout_min_ms = sc.peer_timeout_max_ms = 500;
  CHECK(netkey_server_create(&sc, &s) == NETKEY_OK);
  netkey_server_destroy(s);

  netkey_client_config_init(&cc);
  fill_client(&cc, dir, "alice", 9, &cs);
  cc.max_payload = NETKEY_MAX_PAYLOAD_LIMIT + 1;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_INVALID_ARGUMENT && c == NULL);
  cc.max_payload = 0;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_INVALID_ARGUMENT && c == NULL);
  cc.max_payload = NETKEY_MAX_PAYLOAD_LIMIT;
  cc.handshake_timeout_ms = 0;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_INVALID_ARGUMENT && c == NULL);
  cc.handshake_timeout_ms = 1;
  cc.peer_timeout_max_ms = cc.peer_timeout_min_ms - 1;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_ERR_INVALID_ARGUMENT && c == NULL);
  cc.peer_timeout_max_ms = cc.peer_timeout_min_ms;
  CHECK(netkey_client_create(&cc, &c) == NETKEY_OK); /* the control */
  netkey_client_destroy(c);
}

/* The end-to-end tests' match: a server and two players, alice (cl[0], a) and bob (cl[1], b). */
typedef struct {
  server_state ss;
  client_state a, b;
  netkey_server* s;
  netkey_client* cl[2];
} match;

/* Zeroes t and fills *sc for its server; the caller adjusts sc and creates t->s. */
static void match_server_config(match* t, const char* dir, netkey_server_config* sc) {
  memset(t, 0, sizeof *t);
  t->s = NULL;
  t->cl[0] = t->cl[1] = NULL;
  netkey_server_config_init(sc);
  fill_server(sc, dir, &t->ss);
}

/* How a test makes a player from its filled config: create(cc, out, arg). */
typedef void (*client_maker)(netkey_client_config* cc, netkey_client** out, uint32_t arg);

/* Makes alice and bob on t->s with make, then what join_two says (both joined, at the
 * server's epoch). */
static int match_join(match* t, const char* dir, client_maker make, uint32_t arg) {
  netkey_client_config cc;
  int k;
  for (k = 0; k < 2; ++k) {
    netkey_client_config_init(&cc);
    fill_client(&cc, dir, k == 0 ? "alice" : "bob", netkey_server_port(t->s), k == 0 ? &t->a : &t->b);
    make(&cc, &t->cl[k], arg);
  }
  return join_two(t->s, t->cl, &t->a, &t->b);
}

static void match_end(match* t) {
  int k;
  for (k = 0; k < 2; ++k) netkey_client_destroy(t->cl[k]);
  netkey_server_destroy(t->s);
}

/* A player whose max_payload is `max_payload`. */
static void make_with_payload(netkey_client_config* cc, netkey_client** out, uint32_t max_payload) {
  cc->max_payload = max_payload;
  CHECK(netkey_client_create(cc, out) == NETKEY_OK);
}

/* An old caller's player: past the core an invalid handshake timeout and max_payload
 * `spoiled_payload`, refused at full size (the control), accepted at the core's size. */
static void make_old_struct(netkey_client_config* cc, netkey_client** out, uint32_t spoiled_payload) {
  cc->handshake_timeout_ms = 0;
  cc->max_payload = spoiled_payload;
  CHECK(netkey_client_create(cc, out) == NETKEY_ERR_INVALID_ARGUMENT); /* control */
  cc->struct_size = NETKEY_CLIENT_CONFIG_MIN_SIZE;
  CHECK(netkey_client_create(cc, out) == NETKEY_OK);
}

/* An old caller: configs whose struct_size covers only the core. The fields past it hold
 * values that would change the outcome if read (an invalid encoding and timeout, relay
 * off, a 16-byte payload limit); the library must use the defaults instead. The same
 * configs at full size are refused: the control that those bytes do matter. */
static void test_old_struct_gets_defaults(const char* dir) {
  match t;
  netkey_server_config sc;
  uint8_t big[1200];
  const uint8_t input[] = "an input longer than sixteen bytes";
  int i;
  memset(big, 0x5A, sizeof big);
  match_server_config(&t, dir, &sc);
  sc.rekey_encoding = 99;
  sc.handshake_timeout_ms = 0;
  sc.relay_member_traffic = 0;
  sc.max_payload = 16;
  CHECK(netkey_server_create(&sc, &t.s) == NETKEY_ERR_INVALID_ARGUMENT); /* control */
  sc.struct_size = NETKEY_SERVER_CONFIG_MIN_SIZE;
  CHECK(netkey_server_create(&sc, &t.s) == NETKEY_OK);
  if (t.s == NULL) return;
  CHECK(match_join(&t, dir, make_old_struct, 16));
  /* max_payload is the default 1200 on both ends, and member traffic is relayed. */
  CHECK(netkey_server_broadcast(t.s, big, sizeof big) == NETKEY_OK);
  CHECK(netkey_client_send(t.cl[0], input, sizeof input) == NETKEY_OK);
  for (i = 0; i < 3000 && (t.a.messages < 1 || t.b.messages < 2 || t.ss.messages < 1); ++i)
    run(t.s, t.cl, 2, 1);
  CHECK(t.a.messages == 1 && t.b.messages == 2 && t.ss.messages == 1);
  CHECK(t.ss.last_sender == t.a.member && t.ss.last_size == sizeof input);
  match_end(&t);
}

/* The new settings take effect: with relay_member_traffic 0 the server's message
 * callback still gets alice's input and bob gets none of it; max_payload 64 caps
 * broadcasts and sends at 64 bytes (end to end: the clients use 64 too). */
static void test_relay_off_and_payload_limit(const char* dir) {
  match t;
  netkey_server_config sc;
  uint8_t full[65];
  const uint8_t input[] = "move north", sentinel[] = "tick";
  int i;
  memset(full, 0x33, sizeof full);
  match_server_config(&t, dir, &sc);
  sc.relay_member_traffic = 0;
  sc.max_payload = 64;
  sc.rekey_encoding = NETKEY_REKEY_WHOLE;
  CHECK(netkey_server_create(&sc, &t.s) == NETKEY_OK);
  if (t.s == NULL) return;
  CHECK(match_join(&t, dir, make_with_payload, 64));
  CHECK(netkey_server_broadcast(t.s, full, 65) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_client_send(t.cl[0], full, 65) == NETKEY_ERR_INVALID_ARGUMENT);
  CHECK(netkey_server_broadcast(t.s, full, 64) == NETKEY_OK);
  CHECK(netkey_client_send(t.cl[0], input, sizeof input) == NETKEY_OK);
  for (i = 0; i < 3000 && (t.ss.messages < 1 || t.b.messages < 1); ++i) run(t.s, t.cl, 2, 1);
  CHECK(t.ss.messages == 1 && t.ss.last_sender == t.a.member && t.ss.last_size == sizeof input &&
        memcmp(t.ss.last_message, input, sizeof input) == 0);
  /* A relayed copy would have left the server with the input: a later broadcast, then
     more rounds, and bob has still only the server's messages. */
  CHECK(netkey_server_broadcast(t.s, sentinel, sizeof sentinel) == NETKEY_OK);
  for (i = 0; i < 3000 && t.b.messages < 2; ++i) run(t.s, t.cl, 2, 1);
  run(t.s, t.cl, 2, 200);
  CHECK(t.b.messages == 2 && t.b.last_sender == 0);
  CHECK(t.a.messages == 2 && t.a.last_sender == 0);
  match_end(&t);
}

/* NETKEY_MAX_PAYLOAD_LIMIT works end to end: a member message of that size reaches the
 * server (relayed to bob), and a broadcast of it reaches both players. */
static void test_payload_at_the_limit(const char* dir) {
  static uint8_t big[NETKEY_MAX_PAYLOAD_LIMIT];
  match t;
  netkey_server_config sc;
  int i;
  memset(big, 0x77, sizeof big);
  match_server_config(&t, dir, &sc);
  sc.max_payload = NETKEY_MAX_PAYLOAD_LIMIT;
  CHECK(netkey_server_create(&sc, &t.s) == NETKEY_OK);
  if (t.s == NULL) return;
  CHECK(match_join(&t, dir, make_with_payload, NETKEY_MAX_PAYLOAD_LIMIT));
  CHECK(netkey_client_send(t.cl[0], big, sizeof big) == NETKEY_OK);
  CHECK(netkey_server_broadcast(t.s, big, sizeof big) == NETKEY_OK);
  for (i = 0; i < 3000 && (t.ss.messages < 1 || t.a.messages < 1 || t.b.messages < 2); ++i) run(t.s, t.cl, 2, 1);
  CHECK(t.ss.messages == 1 && t.ss.last_size == sizeof big && t.ss.last_sender == t.a.member);
  CHECK(t.a.messages == 1 && t.b.messages == 2);
  match_end(&t);
}

void capi_config_tests(const char* dir) {
  test_versions();
  test_config_init();
  test_create_struct_size(dir);
  test_settings_checked(dir);
  test_old_struct_gets_defaults(dir);
  test_relay_off_and_payload_limit(dir);
  test_payload_at_the_limit(dir);
}
