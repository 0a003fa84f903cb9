/* The C ABI tests' shared callbacks and helpers (tests/support/capi_harness.h). */
#include "capi_harness.h"

#include <string.h>

int passes, fails;

static void c_maybe_destroy(client_state* c, int when) {
  if (c->self != NULL && *c->self == NULL) c->calls_after_destroy++;
  if (c->destroy_on == when && c->self != NULL && *c->self != NULL) {
    netkey_client* me = *c->self;
    const uint8_t late[] = "late";
    c->reentrant_poll_rc = netkey_client_poll(me, 0); /* refused: callbacks do not nest */
    netkey_client_destroy(me);
    /* The destroy is pending until this callback returns: the handle is still memory
       (ASan would see a use-after-free otherwise), and every call on it is refused. */
    c->send_after_destroy_rc = netkey_client_send(me, late, sizeof late);
    c->member_after_destroy = netkey_client_member_id(me);
    *c->self = NULL;
  }
}

static void s_joined(void* u, uint32_t m, const char* subject, uint64_t e) {
  server_state* s = (server_state*)u;
  (void)m, (void)subject, (void)e;
  s->joined++;
  if (s->self != NULL && *s->self == NULL) s->calls_after_destroy++;
  if (s->destroy_on_joined && s->self != NULL && *s->self != NULL) {
    netkey_server* me = *s->self;
    const uint8_t late[] = "late";
    netkey_server_destroy(me);
    s->broadcast_after_destroy_rc = netkey_server_broadcast(me, late, sizeof late);
    s->port_after_destroy = netkey_server_port(me);
    *s->self = NULL;
  }
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
  server_state* s = (server_state*)u;
  s->messages++;
  s->last_sender = sender;
  s->last_size = n;
  if (n > 0 && n <= sizeof s->last_message) memcpy(s->last_message, d, n);
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
  c_maybe_destroy(c, DESTROY_ON_JOINED);
}
static void c_left(void* u) {
  ((client_state*)u)->left++;
  c_maybe_destroy((client_state*)u, DESTROY_ON_LEFT);
}
static void c_rekeyed(void* u, uint64_t e) {
  ((client_state*)u)->rekeyed++;
  ((client_state*)u)->epoch = e;
}
static void c_message(void* u, uint32_t sender, const uint8_t* d, size_t n) {
  client_state* c = (client_state*)u;
  (void)d, (void)n;
  c->messages++;
  c->last_sender = sender;
  c_maybe_destroy(c, DESTROY_ON_MESSAGE);
}
static void c_refused(void* u, int reason) {
  ((client_state*)u)->refused++;
  ((client_state*)u)->refused_reason = reason;
}

static void record_ex(message_ex_seen* ex, uint32_t sender, int32_t kind, int32_t team, int32_t delivery,
                      const uint8_t* d, size_t n) {
  ex->calls++;
  if (kind >= 0 && kind < 4) ex->by_kind[kind]++;
  ex->sender = sender;
  ex->kind = kind;
  ex->team = team;
  ex->delivery = delivery;
  ex->size = n;
  if (n > 0 && n <= sizeof ex->payload) memcpy(ex->payload, d, n);
}

void c_message_ex(void* u, uint32_t sender, int32_t kind, int32_t team, int32_t delivery, const uint8_t* d,
                  size_t n) {
  record_ex(&((client_state*)u)->ex, sender, kind, team, delivery, d, n);
}
void s_message_ex(void* u, uint32_t sender, int32_t kind, int32_t team, int32_t delivery, const uint8_t* d,
                  size_t n) {
  record_ex(&((server_state*)u)->ex, sender, kind, team, delivery, d, n);
}

char path_buf[8][512];
const char* path(int slot, const char* dir, const char* file) {
  snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", dir, file);
  return path_buf[slot];
}

/* The client's and the server's callback structs name their fields alike: point them at
 * side's recording callbacks (c_* or s_*) with st as user data. */
#define HOOK_RECORDING_CALLBACKS(cb, st, side) \
  do {                                        \
    (cb).user = (st);                         \
    (cb).joined = side##_joined;              \
    (cb).left = side##_left;                  \
    (cb).rekeyed = side##_rekeyed;            \
    (cb).message = side##_message;            \
    (cb).refused = side##_refused;            \
  } while (0)

void fill_client(netkey_client_config* cc, const char* dir, const char* who, uint16_t port,
                 client_state* st) {
  static char cert[64], key[64];
  snprintf(cert, sizeof cert, "ca/%s.cert", who);
  snprintf(key, sizeof key, "ca/%s.key", who);
  cc->server_port = port;
  cc->charter_path = path(4, dir, "match.charter");
  cc->ca_public_path = path(5, dir, "ca/ca.pub");
  cc->certificate_path = path(6, dir, cert);
  cc->key_path = path(7, dir, key);
  HOOK_RECORDING_CALLBACKS(cc->callbacks, st, c);
}

netkey_client* make_client(const char* dir, const char* who, uint16_t port, client_state* st) {
  netkey_client_config cc;
  netkey_client* c = NULL;
  CHECK(netkey_client_config_init(&cc) == NETKEY_OK);
  fill_client(&cc, dir, who, port, st);
  CHECK(netkey_client_create(&cc, &c) == NETKEY_OK);
  return c;
}

void fill_server(netkey_server_config* sc, const char* dir, server_state* st) {
  sc->charter_path = path(0, dir, "match.charter");
  sc->ca_public_path = path(1, dir, "ca/ca.pub");
  sc->certificate_path = path(2, dir, "ca/game-server.cert");
  sc->key_path = path(3, dir, "ca/game-server.key");
  HOOK_RECORDING_CALLBACKS(sc->callbacks, st, s);
}

netkey_server* start_server(const char* dir, server_state* st) {
  netkey_server_config sc;
  netkey_server* s = NULL;
  CHECK(netkey_server_config_init(&sc) == NETKEY_OK);
  fill_server(&sc, dir, st);
  CHECK(netkey_server_create(&sc, &s) == NETKEY_OK);
  return s;
}

void run(netkey_server* s, netkey_client** cs, int n, int rounds) {
  int r, i;
  for (r = 0; r < rounds; ++r) {
    netkey_server_poll(s, 1);
    for (i = 0; i < n; ++i) {
      if (cs[i]) netkey_client_poll(cs[i], 0);
    }
  }
}

int join_two(netkey_server* s, netkey_client** cl, client_state* a, client_state* b) {
  int i;
  for (i = 0; i < 3000; ++i) {
    if (a->joined && b->joined && netkey_client_epoch(cl[0]) == netkey_server_epoch(s) &&
        netkey_client_epoch(cl[1]) == netkey_server_epoch(s)) {
      return 1;
    }
    run(s, cl, 2, 1);
  }
  return 0;
}
