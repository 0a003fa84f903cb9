/* What the C ABI's C tests share (tests/capi_test.c, tests/capi_config_test.c): a CHECK
 * that counts, callbacks that record what they saw into client_state / server_state, and
 * helpers that fill configs from a PKI made by tests/cli/make_pki.sh, start a server,
 * make clients and poll them. */
#ifndef NETKEY_TESTS_SUPPORT_CAPI_HARNESS_H_
#define NETKEY_TESTS_SUPPORT_CAPI_HARNESS_H_

#include <stdio.h>

#include "netkey.h"

extern int passes, fails;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (cond) {                                                       \
      ++passes;                                                       \
    } else {                                                          \
      ++fails;                                                        \
      fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

/* What a message_ex callback saw (ABI 2): messages by kind (NETKEY_MESSAGE_*), and the
 * last one's fields. Both client_state and server_state hold one. */
typedef struct {
  int by_kind[4];
  int calls;
  uint32_t sender;
  int32_t kind, team, delivery;
  uint8_t payload[64];
  size_t size;
} message_ex_seen;

/* Which callback destroys its own handle (the self-destroy tests). */
enum { DESTROY_NEVER, DESTROY_ON_JOINED, DESTROY_ON_MESSAGE, DESTROY_ON_LEFT };

typedef struct {
  int joined, left, rekeyed, messages, refused_reason, refused;
  uint32_t member, last_sender;
  uint64_t epoch;
  int destroy_on;                /* DESTROY_*: that callback destroys *self and sets it to NULL */
  netkey_client** self;          /* the handle, for destroy_on */
  int calls_after_destroy;       /* callbacks that fired after the handle was destroyed */
  int reentrant_poll_rc;         /* what netkey_client_poll returned from inside a callback */
  int send_after_destroy_rc;     /* netkey_client_send on the handle right after its destroy */
  uint32_t member_after_destroy; /* netkey_client_member_id then (0: refused) */
  message_ex_seen ex; /* ABI 2 (message_ex) */
} client_state;

typedef struct {
  int joined, left, rekeyed, messages, refused;
  uint32_t last_sender;
  int destroy_on_joined;
  netkey_server** self;
  int calls_after_destroy;
  int broadcast_after_destroy_rc; /* netkey_server_broadcast right after its destroy */
  uint16_t port_after_destroy;    /* netkey_server_port then (0: refused) */
  uint8_t last_message[64];
  size_t last_size;
  message_ex_seen ex; /* ABI 2 (message_ex), as client_state's */
} server_state;

/* dir/file in path_buf[slot] (slots 0..3: the server's files, 4..7: a client's). */
const char* path(int slot, const char* dir, const char* file);
extern char path_buf[8][512];
/* The paths and callbacks of a config (the rest as the caller left it). */
void fill_client(netkey_client_config* cc, const char* dir, const char* who, uint16_t port,
                 client_state* st);
void fill_server(netkey_server_config* sc, const char* dir, server_state* st);
/* A client or server with the defaults (CHECKed to succeed; NULL if not). */
netkey_client* make_client(const char* dir, const char* who, uint16_t port, client_state* st);
netkey_server* start_server(const char* dir, server_state* st);
/* `rounds` times: polls the server for 1 ms, then each non-NULL client. */
void run(netkey_server* s, netkey_client** cs, int n, int rounds);
/* Joins alice and bob (cl[0], cl[1]) to s; 1 when both joined at the server's epoch. */
int join_two(netkey_server* s, netkey_client** cl, client_state* a, client_state* b);

/* The message_ex callbacks (ABI 2) recording into client_state / server_state. */
void c_message_ex(void* u, uint32_t sender, int32_t kind, int32_t team, int32_t delivery, const uint8_t* d,
                  size_t n);
void s_message_ex(void* u, uint32_t sender, int32_t kind, int32_t team, int32_t delivery, const uint8_t* d,
                  size_t n);

/* tests/capi_config_test.c: versions, struct_size rules and settings. */
void capi_config_tests(const char* dir);
/* tests/capi_messaging_test.c: teams, private messages and delivery classes (ABI 2). */
void capi_messaging_tests(const char* dir);

#endif /* NETKEY_TESTS_SUPPORT_CAPI_HARNESS_H_ */
