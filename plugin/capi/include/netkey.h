/* netkey.h: the C ABI of netkey, for engines (Unity P/Invoke, Unreal, Godot) and C.
 *
 * A netkey_server is a game server (the Root) on ENet; a netkey_client is a player.
 * Both are opaque handles. Fill a config with netkey_*_config_default(), set what you
 * need, create, then call netkey_*_poll() every tick: callbacks fire only inside poll,
 * on the calling thread. Every function returns an int: NETKEY_OK (0) or a negative
 * error code that netkey_strerror() explains. No C++ exception crosses this ABI.
 *
 * Identities are the files netkey-ca writes: the CA's ca.pub, a certificate (.cert), its
 * secret key file (.key), and the match's signed charter.
 *
 * Ownership: strings and buffers passed in are copied before the call returns. Data
 * passed to a callback is valid only during that callback. A handle is used by one
 * thread at a time.
 *
 * Destroying from a callback: a callback may destroy its own handle (e.g. a client that
 * quits in its left callback). The destroy is then deferred: no further callback fires
 * for that handle, and the netkey_*_poll() that fired the callback frees the handle as
 * its last step and returns NETKEY_OK. Do not use the handle after calling destroy.
 * Calling netkey_*_poll() on a handle from inside its own callback returns
 * NETKEY_ERR_INVALID_ARGUMENT (callbacks do not nest).
 */
#ifndef NETKEY_H_
#define NETKEY_H_

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define NETKEY_API __declspec(dllexport)
#else
#define NETKEY_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum {
  NETKEY_OK = 0,
  NETKEY_ERR_INVALID_ARGUMENT = -1, /* a NULL handle, a missing path, a size over the limit */
  NETKEY_ERR_IO = -2,               /* a file could not be read, or the socket could not be bound */
  NETKEY_ERR_MALFORMED = -3,        /* a file is not a netkey certificate, key, CA or charter */
  NETKEY_ERR_REFUSED = -4,          /* the charter, certificate or CA check failed */
  NETKEY_ERR_NOT_READY = -5,        /* not in the group yet (no Welcome), or no members yet */
  NETKEY_ERR_UNSUPPORTED = -6,      /* e.g. AES-256-GCM on a CPU without AES-NI */
  NETKEY_ERR_INTERNAL = -7          /* a bug: please report it */
};

/* A static, human-readable explanation of an error code. Never NULL. */
NETKEY_API const char* netkey_strerror(int code);

/* Refusal reasons (netkey_client_callbacks.refused, netkey_server_callbacks.refused). */
enum {
  NETKEY_REFUSED_NONE = 0, /* the server never answered */
  NETKEY_REFUSED_NOT_ON_ACL = 1,
  NETKEY_REFUSED_CLEARANCE_TOO_LOW = 2,
  NETKEY_REFUSED_CERTIFICATE_EXPIRED = 3,
  NETKEY_REFUSED_CERTIFICATE_INVALID = 4,
  NETKEY_REFUSED_WRONG_CA = 5,
  NETKEY_REFUSED_CHARTER_MISMATCH = 6,
  NETKEY_REFUSED_GROUP_FULL = 7,
  NETKEY_REFUSED_RATE_LIMITED = 8,
  NETKEY_REFUSED_BAD_COOKIE = 9,
  NETKEY_REFUSED_HANDSHAKE_FAILED = 10,
  NETKEY_REFUSED_REMOVED = 11
};

/* ---------------------------------------------------------------- server */

typedef struct netkey_server netkey_server;

typedef struct netkey_server_callbacks {
  void* user;
  void (*joined)(void* user, uint32_t member, const char* subject, uint64_t epoch);
  void (*left)(void* user, uint32_t member, const char* subject, uint64_t epoch);
  void (*rekeyed)(void* user, uint64_t epoch);
  void (*message)(void* user, uint32_t sender, const uint8_t* data, size_t size);
  void (*refused)(void* user, int reason, const char* subject);
} netkey_server_callbacks;

typedef struct netkey_server_config {
  const char* bind_host;        /* default "127.0.0.1" */
  uint16_t port;                /* default 0: any free port (see netkey_server_port) */
  const char* charter_path;     /* the signed charter */
  const char* ca_public_path;   /* ca.pub */
  const char* certificate_path; /* the server's certificate (role root) */
  const char* key_path;         /* its secret key file */
  netkey_server_callbacks callbacks;
} netkey_server_config;

NETKEY_API void netkey_server_config_default(netkey_server_config* config);
/* On success *out owns a server; destroy it with netkey_server_destroy. */
NETKEY_API int netkey_server_create(const netkey_server_config* config, netkey_server** out);
/* Services the network for up to timeout_ms and fires callbacks. Call every tick.
 * NETKEY_ERR_INVALID_ARGUMENT for NULL or when called from the server's own callback;
 * NETKEY_ERR_IO when the socket failed. NETKEY_OK when a callback destroyed the server
 * (which is then freed). */
NETKEY_API int netkey_server_poll(netkey_server* server, uint32_t timeout_ms);
/* Encrypts data once under the net key and sends it to every member.
 * NETKEY_ERR_NOT_READY when nobody is in the group yet. */
NETKEY_API int netkey_server_broadcast(netkey_server* server, const uint8_t* data, size_t size);
NETKEY_API uint16_t netkey_server_port(const netkey_server* server);
NETKEY_API uint64_t netkey_server_epoch(const netkey_server* server);
NETKEY_API size_t netkey_server_member_count(const netkey_server* server);
/* Frees the server (its members time out). Safe with NULL. From inside one of the
 * server's own callbacks, deferred until that poll returns (see above). */
NETKEY_API void netkey_server_destroy(netkey_server* server);

/* ---------------------------------------------------------------- client */

typedef struct netkey_client netkey_client;

typedef struct netkey_client_callbacks {
  void* user;
  void (*joined)(void* user, uint32_t member, uint64_t epoch); /* the Welcome arrived */
  /* The connection ended, at most once per client: after netkey_client_leave, a removal
   * by the server, or when the server went away (it closed the connection, or stopped
   * answering for 1..3 s). Nothing more arrives; destroy the client. */
  void (*left)(void* user);
  void (*rekeyed)(void* user, uint64_t epoch);
  void (*message)(void* user, uint32_t sender, const uint8_t* data, size_t size); /* sender 0: server */
  void (*refused)(void* user, int reason);
} netkey_client_callbacks;

typedef struct netkey_client_config {
  const char* server_host; /* default "127.0.0.1" */
  uint16_t server_port;
  const char* charter_path;
  const char* ca_public_path;
  const char* certificate_path; /* the player's certificate (role participant) */
  const char* key_path;
  netkey_client_callbacks callbacks;
} netkey_client_config;

NETKEY_API void netkey_client_config_default(netkey_client_config* config);
NETKEY_API int netkey_client_create(const netkey_client_config* config, netkey_client** out);
/* Starts the handshake on the first call; services the network; fires callbacks.
 * Errors and a destroy from a callback as netkey_server_poll. */
NETKEY_API int netkey_client_poll(netkey_client* client, uint32_t timeout_ms);
/* Member traffic, relayed by the server to the others. NETKEY_ERR_NOT_READY before joined. */
NETKEY_API int netkey_client_send(netkey_client* client, const uint8_t* data, size_t size);
/* A signed goodbye. */
NETKEY_API int netkey_client_leave(netkey_client* client);
NETKEY_API uint64_t netkey_client_epoch(const netkey_client* client);
NETKEY_API uint32_t netkey_client_member_id(const netkey_client* client);
/* Frees the client without a goodbye (call netkey_client_leave first for one). Safe
 * with NULL. From inside one of the client's own callbacks, deferred until that poll
 * returns (see above). */
NETKEY_API void netkey_client_destroy(netkey_client* client);

#ifdef __cplusplus
}
#endif

#endif /* NETKEY_H_ */
