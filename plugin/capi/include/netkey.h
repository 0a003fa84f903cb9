/* netkey.h: the C ABI of netkey, for engines (Unity P/Invoke, Unreal, Godot) and C.
 *
 * A netkey_server is a game server (the Root) on ENet; a netkey_client is a player.
 * Both are opaque handles. Fill a config with netkey_*_config_init(&cfg), set what you
 * need, create, then call netkey_*_poll() every tick: callbacks fire only inside poll,
 * on the calling thread. Every function that can fail returns an int: NETKEY_OK (0) or
 * a negative error code that netkey_strerror() explains. No C++ exception crosses this
 * ABI.
 *
 * Identities are the files netkey-ca writes: the CA's ca.pub, a certificate (.cert), its
 * secret key file (.key), and the match's signed charter.
 *
 * Ownership: strings and buffers passed in are copied before the call returns. Data
 * passed to a callback is valid only during that callback. A handle is used by one
 * thread at a time.
 *
 * Versioned config structs: every config struct starts with `uint32_t struct_size`,
 * which the caller sets to sizeof the struct it was compiled with; the
 * netkey_*_config_init(&cfg) macros do that and fill the defaults. The library reads
 * only the fields that struct_size covers and takes the defaults for the rest, so a
 * caller built against an older netkey.h (or a P/Invoke struct that lacks the newer
 * fields) keeps working; fields of a newer header than the library's are ignored. A
 * struct_size below the struct's minimum (NETKEY_*_CONFIG_MIN_SIZE: the core fields, up to and including the callbacks)
 * is refused with NETKEY_ERR_STRUCT_SIZE. A binding in another language sets struct_size
 * to its own struct's size (C#: Marshal.SizeOf) and calls netkey_*_config_init_sized.
 *
 * How the ABI grows without breaking layouts: new fields go at the end of a config
 * struct (never between existing ones); the callback structs are frozen, so new callbacks
 * become new fields at the end of the config struct; new operations (issue 12: team
 * broadcast, private messages, delivery classes) become new functions with new names.
 * NETKEY_ABI_VERSION grows with each such addition; a removal or a change of meaning would
 * be a new major version of the library (its soname).
 *
 * Destroying from a callback: a callback may destroy its own handle (e.g. a client that
 * quits in its left callback). The destroy is then deferred: no further callback fires
 * for that handle, and the netkey_*_poll() that fired the callback frees the handle as
 * its last step and returns NETKEY_OK. Until that callback returns, every other call on
 * the handle is refused (NETKEY_ERR_INVALID_ARGUMENT; getters return 0); after it, do not
 * use the handle at all. Calling netkey_*_poll() on a handle from inside its own callback
 * returns NETKEY_ERR_INVALID_ARGUMENT (callbacks do not nest).
 *
 * Member traffic: what a client sends with netkey_client_send reaches the server, which
 * fires its `message` callback for it (sender = the member id), and, by default, is
 * relayed unchanged to every other member, whose `message` callbacks fire with the same
 * sender. An authoritative game server that consumes player input itself sets
 * netkey_server_config.relay_member_traffic = 0: the server's `message` callback still
 * fires for every input, and the other members receive nothing of it.
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
  NETKEY_ERR_INVALID_ARGUMENT = -1, /* a NULL handle, a missing path, a setting out of range,
                                       a size over max_payload, a handle being destroyed */
  NETKEY_ERR_IO = -2,               /* a file could not be read, or the socket could not be bound */
  NETKEY_ERR_MALFORMED = -3,        /* a file is not a netkey certificate, key, CA or charter */
  NETKEY_ERR_REFUSED = -4,          /* the charter, certificate or CA check failed */
  NETKEY_ERR_NOT_READY = -5,        /* not in the group yet (no Welcome), or no members yet
                                       (in the group, or in the team addressed) */
  NETKEY_ERR_UNSUPPORTED = -6,      /* e.g. AES-256-GCM on a CPU without AES-NI */
  NETKEY_ERR_INTERNAL = -7,         /* a bug: please report it */
  NETKEY_ERR_STRUCT_SIZE = -8,      /* a config's struct_size is 0 or below its minimum:
                                       fill the config with netkey_*_config_init */
  /* ABI 2 (issue 12). The calls of ABI 1 keep their codes (a payload over max_payload is
   * NETKEY_ERR_INVALID_ARGUMENT there); the calls added in ABI 2 use these: */
  NETKEY_ERR_NO_SUCH_TEAM = -9,     /* a team index not below the charter's tree_teams, or the
                                       charter declares no teams */
  NETKEY_ERR_NOT_A_MEMBER = -10,    /* a private message to a member id not in the group */
  NETKEY_ERR_TOO_LARGE = -11        /* a payload over max_payload */
};

/* A static, human-readable explanation of an error code. Never NULL. */
NETKEY_API const char* netkey_strerror(int code);

/* ---------------------------------------------------------------- versions */

/* The ABI this header describes. It grows when functions, fields or callbacks are added
 * (see "How the ABI grows" above). Compare it with netkey_abi_version() to learn whether
 * the loaded library knows everything this header declares:
 *   1  struct_size-versioned configs, netkey_version, netkey_abi_version, the server's
 *      rekey, relay, timeout and payload settings, the client's timeout and payload
 *      settings.
 *   2  game messaging (issue 12): netkey_delivery, team broadcasts, private messages,
 *      team assignment, the message_ex callbacks (config fields), the error codes
 *      NETKEY_ERR_NO_SUCH_TEAM, NETKEY_ERR_NOT_A_MEMBER and NETKEY_ERR_TOO_LARGE. */
#define NETKEY_ABI_VERSION 2u

/* The library's release, e.g. "0.1.0" (static, never NULL). */
NETKEY_API const char* netkey_version(void);
/* The NETKEY_ABI_VERSION the library was built with. A caller compiled with a larger
 * NETKEY_ABI_VERSION may still run: the library ignores config fields it does not know
 * (see "Versioned config structs"), but a function it lacks will not resolve. */
NETKEY_API uint32_t netkey_abi_version(void);

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

/* ---------------------------------------------------------------- messaging (ABI 2) */

/* How a message travels (the *_ex, _team and _private sends). The ABI 1 sends
 * (netkey_server_broadcast, netkey_client_send) use NETKEY_DELIVERY_UNRELIABLE_SEQUENCED.
 * Passed as an int32_t; any other value is NETKEY_ERR_INVALID_ARGUMENT. */
typedef enum netkey_delivery {
  /* Retransmitted until it arrives, in order (ENet's reliable "events" channel): kills,
   * chat, RPCs, match phases. It still opens after a rekey or two that happened on the
   * way (the receiver keeps the retained epochs' keys for a grace), never at a member
   * removed before it was sent. */
  NETKEY_DELIVERY_RELIABLE_ORDERED = 0,
  /* May be lost; one older than the newest already received is dropped: snapshots. */
  NETKEY_DELIVERY_UNRELIABLE_SEQUENCED = 1,
  /* May be lost or arrive out of order. */
  NETKEY_DELIVERY_UNRELIABLE = 2
} netkey_delivery;

/* What a message_ex callback was given (its `kind`). */
enum {
  NETKEY_MESSAGE_BROADCAST = 0, /* client: the server's broadcast to every member (sender 0) */
  NETKEY_MESSAGE_TEAM = 1,      /* client: the server's broadcast to this client's team
                                   (sender 0, `team` = that team) */
  NETKEY_MESSAGE_PRIVATE = 2,   /* client: the server's private message to this client
                                   (sender 0); server: a member's private message to the
                                   server (sender = the member), never relayed */
  NETKEY_MESSAGE_MEMBER = 3     /* a member's traffic (sender = the member): relayed to a
                                   client, or at the server */
};

/* `team` of a message_ex callback or netkey_client_team when there is none. */
#define NETKEY_NO_TEAM (-1)

/* A message with its kind (NETKEY_MESSAGE_*), team and delivery (a netkey_delivery;
 * at a client, what the packet came with). `team`: for NETKEY_MESSAGE_TEAM, the team
 * it was sent to; at the server, the sending member's team; otherwise NETKEY_NO_TEAM
 * (also in a match without teams). data may be NULL when size is 0. */
typedef void (*netkey_message_ex_fn)(void* user, uint32_t sender, int32_t kind, int32_t team, int32_t delivery,
                                     const uint8_t* data, size_t size);

/* ---------------------------------------------------------------- server */

typedef struct netkey_server netkey_server;

/* Any pointer may be NULL (that event is not reported). `subject` is the certificate's
 * subject, NUL-terminated UTF-8. */
typedef struct netkey_server_callbacks {
  void* user;
  void (*joined)(void* user, uint32_t member, const char* subject, uint64_t epoch);
  void (*left)(void* user, uint32_t member, const char* subject, uint64_t epoch);
  void (*rekeyed)(void* user, uint64_t epoch);
  /* A member's traffic (sender = its member id), relayed or not. data may be NULL when
   * size is 0. */
  void (*message)(void* user, uint32_t sender, const uint8_t* data, size_t size);
  /* NETKEY_REFUSED_*; subject "" when refused before the certificate was read. */
  void (*refused)(void* user, int reason, const char* subject);
} netkey_server_callbacks;

/* How the server sends rekeys (netkey_server_config.rekey_encoding); docs/PERFORMANCE.md
 * has the trade-off. */
enum {
  NETKEY_REKEY_AUTO = 0,   /* the fewer bytes: WHOLE while it is at most auto_whole_max_bytes
                              and no larger than one member's Slice, SLICES otherwise */
  NETKEY_REKEY_SLICES = 1, /* one sealed slice per member: least bytes per member, O(log n) */
  NETKEY_REKEY_WHOLE = 2   /* one signed message, the same bytes for everyone: least CPU */
};

/* The largest max_payload a config may ask for: packets stay under the ENet binding's
 * 64 KiB receive limit with the traffic header, tag and signature. */
#define NETKEY_MAX_PAYLOAD_LIMIT 60000u

typedef struct netkey_server_config {
  uint32_t struct_size;         /* sizeof(netkey_server_config): set by netkey_server_config_init */
  uint16_t port;                /* default 0: any free port (see netkey_server_port) */
  const char* bind_host;        /* default "127.0.0.1" */
  const char* charter_path;     /* the signed charter */
  const char* ca_public_path;   /* ca.pub */
  const char* certificate_path; /* the server's certificate (role root) */
  const char* key_path;         /* its secret key file */
  /* Frozen layout: later callbacks are added at the end of this struct. `refused`'s
   * subject is "" (never NULL) when the participant was refused before its certificate
   * was read (rate limited, a bad cookie, a malformed handshake). `message` fires for
   * every member message, whether relay_member_traffic is on or off. */
  netkey_server_callbacks callbacks;
  /* ---- the core ends here (NETKEY_SERVER_CONFIG_MIN_SIZE). Each field below takes
   * its default when struct_size does not cover it. ---- */
  int32_t rekey_encoding;         /* NETKEY_REKEY_*; default NETKEY_REKEY_AUTO */
  uint32_t auto_whole_max_bytes;  /* for NETKEY_REKEY_AUTO; default 4096 */
  /* Nonzero (default 1): member traffic is relayed to every other member. 0: only the
   * server's `message` callback sees it (an authoritative server's player input). */
  int32_t relay_member_traffic;
  uint32_t handshake_timeout_ms;  /* admission: a handshake not finished in this is dropped; default 10000 */
  uint32_t cookie_lifetime_ms;    /* how long a cookie stays valid; default 10000 */
  /* A member whose connection stays silent is dropped after peer_timeout_min_ms ..
   * peer_timeout_max_ms (ENet's peer timeouts, limit = its retry count) and becomes a
   * leave in the next rekey. Defaults 1000, 3000, 32. */
  uint32_t peer_timeout_min_ms;
  uint32_t peer_timeout_max_ms;
  uint32_t peer_timeout_limit;
  /* Plaintext bytes per broadcast or member message, 1..NETKEY_MAX_PAYLOAD_LIMIT;
   * default 1200 (one unfragmented UDP datagram). Clients must use the same value: a
   * client drops packets larger than its own max_payload. */
  uint32_t max_payload;
  /* ABI 2. When set, it fires for every member message, private or not, with its kind
   * (NETKEY_MESSAGE_MEMBER or NETKEY_MESSAGE_PRIVATE), the sender's team and the
   * delivery, and callbacks.message does not fire. When NULL (the default, and for a
   * caller whose struct_size ends before this field), callbacks.message fires for every
   * member message, private ones included, as in ABI 1. */
  netkey_message_ex_fn message_ex;
} netkey_server_config;

/* The smallest struct_size netkey_server_create accepts: the core fields, up to and
 * including the callbacks. */
#define NETKEY_SERVER_CONFIG_MIN_SIZE ((uint32_t)offsetof(netkey_server_config, rekey_encoding))

/* Fills the first struct_size bytes of *config with the defaults (only whole fields
 * that struct_size covers; bytes past this library's struct, a newer header's fields, are
 * zeroed) and sets config->struct_size. NETKEY_ERR_INVALID_ARGUMENT for
 * NULL, NETKEY_ERR_STRUCT_SIZE below NETKEY_SERVER_CONFIG_MIN_SIZE. Call it through
 * netkey_server_config_init, which passes sizeof *config. */
NETKEY_API int netkey_server_config_init_sized(netkey_server_config* config, uint32_t struct_size);
#define netkey_server_config_init(config) \
  netkey_server_config_init_sized((config), (uint32_t)sizeof *(config))

/* On success *out owns a server; destroy it with netkey_server_destroy. */
NETKEY_API int netkey_server_create(const netkey_server_config* config, netkey_server** out);
/* Services the network for up to timeout_ms and fires callbacks. Call every tick.
 * NETKEY_ERR_INVALID_ARGUMENT for NULL or when called from the server's own callback;
 * NETKEY_ERR_IO when the socket failed. NETKEY_OK when a callback destroyed the server
 * (which is then freed). */
NETKEY_API int netkey_server_poll(netkey_server* server, uint32_t timeout_ms);
/* Encrypts data once under the net key and sends it to every member (unreliable,
 * sequenced). NETKEY_ERR_NOT_READY when nobody is in the group yet;
 * NETKEY_ERR_INVALID_ARGUMENT over max_payload. */
NETKEY_API int netkey_server_broadcast(netkey_server* server, const uint8_t* data, size_t size);
/* ABI 2. As netkey_server_broadcast with a delivery class (a netkey_delivery).
 * NETKEY_ERR_NOT_READY with nobody in the group; NETKEY_ERR_TOO_LARGE over max_payload;
 * NETKEY_ERR_INVALID_ARGUMENT for an unknown delivery. */
NETKEY_API int netkey_server_broadcast_ex(netkey_server* server, const uint8_t* data, size_t size, int32_t delivery);
/* ABI 2. Encrypts data once under `team`'s key (teams 0 .. tree_teams-1 of the charter)
 * and sends it to that team's members only: no other member holds the key.
 * NETKEY_ERR_NO_SUCH_TEAM for a team not below tree_teams (or a charter without teams);
 * NETKEY_ERR_NOT_READY while that team has no member; NETKEY_ERR_TOO_LARGE over
 * max_payload; NETKEY_ERR_INVALID_ARGUMENT for an unknown delivery. */
NETKEY_API int netkey_server_broadcast_team(netkey_server* server, uint32_t team, const uint8_t* data, size_t size,
                                            int32_t delivery);
/* ABI 2. A private message to one member, under a key only that member and the server
 * hold (derived from its handshake secret); never relayed. NETKEY_ERR_NOT_A_MEMBER
 * when `member` is not in the group (never joined, left, or not welcomed yet);
 * NETKEY_ERR_TOO_LARGE over max_payload; NETKEY_ERR_INVALID_ARGUMENT for an unknown
 * delivery. */
NETKEY_API int netkey_server_send_private(netkey_server* server, uint32_t member, const uint8_t* data, size_t size,
                                          int32_t delivery);
/* ABI 2. Puts the participant with certificate subject `subject` (NUL-terminated UTF-8)
 * in `team`: before it joins, its join is placed in that team; a member is switched at
 * the next rekey (batched with joins and leaves: it then holds the new team's key and
 * none of its old team's later keys). Participants never assigned join the smallest team.
 * NETKEY_ERR_NO_SUCH_TEAM for a team not below tree_teams (or a charter without teams);
 * NETKEY_ERR_INVALID_ARGUMENT for a NULL or empty subject. */
NETKEY_API int netkey_server_assign_team(netkey_server* server, const char* subject, uint32_t team);
/* ABI 2. The team of a member, or NETKEY_NO_TEAM (not a member, no teams, NULL). */
NETKEY_API int32_t netkey_server_member_team(const netkey_server* server, uint32_t member);
/* Getters: 0 for NULL (and for a handle whose destroy is pending). */
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
   * answering for peer_timeout_min_ms..peer_timeout_max_ms, 1..3 s by default). Nothing
   * more arrives; destroy the client. */
  void (*left)(void* user);
  void (*rekeyed)(void* user, uint64_t epoch);
  /* Sender 0: the server's broadcast; else a member's relayed traffic. data may be NULL
   * when size is 0. */
  void (*message)(void* user, uint32_t sender, const uint8_t* data, size_t size);
  void (*refused)(void* user, int reason); /* NETKEY_REFUSED_* */
} netkey_client_callbacks;

typedef struct netkey_client_config {
  uint32_t struct_size;    /* sizeof(netkey_client_config): set by netkey_client_config_init */
  uint16_t server_port;
  const char* server_host; /* default "127.0.0.1" */
  const char* charter_path;
  const char* ca_public_path;
  const char* certificate_path; /* the player's certificate (role participant) */
  const char* key_path;
  netkey_client_callbacks callbacks; /* frozen layout, as the server's */
  /* ---- the core ends here (NETKEY_CLIENT_CONFIG_MIN_SIZE); defaults as the server's. ---- */
  /* No Welcome within this (plus the charter's batch window): `refused` fires with
   * NETKEY_REFUSED_NONE. Default 10000. */
  uint32_t handshake_timeout_ms;
  /* The server is given up on (`left` fires) after peer_timeout_min_ms ..
   * peer_timeout_max_ms of silence. Defaults 1000, 3000, 32. */
  uint32_t peer_timeout_min_ms;
  uint32_t peer_timeout_max_ms;
  uint32_t peer_timeout_limit;
  /* As netkey_server_config.max_payload, which it must equal; default 1200. */
  uint32_t max_payload;
  /* ABI 2. When set, it fires for every message with its kind (NETKEY_MESSAGE_*), team
   * and delivery, and callbacks.message does not fire. When NULL (the default, and for a
   * caller whose struct_size ends before this field), callbacks.message fires for every
   * message as in ABI 1: the server's team and private messages with sender 0. */
  netkey_message_ex_fn message_ex;
} netkey_client_config;

#define NETKEY_CLIENT_CONFIG_MIN_SIZE ((uint32_t)offsetof(netkey_client_config, handshake_timeout_ms))

/* As netkey_server_config_init_sized, for a client. */
NETKEY_API int netkey_client_config_init_sized(netkey_client_config* config, uint32_t struct_size);
#define netkey_client_config_init(config) \
  netkey_client_config_init_sized((config), (uint32_t)sizeof *(config))

/* Loads the identity (it does not connect yet). Errors as netkey_server_create, except
 * that the port is not bound here. */
NETKEY_API int netkey_client_create(const netkey_client_config* config, netkey_client** out);
/* Starts the handshake on the first call; services the network; fires callbacks.
 * Errors and a destroy from a callback as netkey_server_poll. */
NETKEY_API int netkey_client_poll(netkey_client* client, uint32_t timeout_ms);
/* Member traffic to the server, which relays it to the others unless its
 * relay_member_traffic is 0 (see "Member traffic" above). NETKEY_ERR_NOT_READY before
 * joined; NETKEY_ERR_INVALID_ARGUMENT over max_payload. */
NETKEY_API int netkey_client_send(netkey_client* client, const uint8_t* data, size_t size);
/* ABI 2. As netkey_client_send with a delivery class (a netkey_delivery).
 * NETKEY_ERR_NOT_READY before joined (for every class, reliable included: there is no
 * key to seal under yet); NETKEY_ERR_TOO_LARGE over max_payload;
 * NETKEY_ERR_INVALID_ARGUMENT for an unknown delivery. */
NETKEY_API int netkey_client_send_ex(netkey_client* client, const uint8_t* data, size_t size, int32_t delivery);
/* ABI 2. A private message to the server alone (never relayed, whatever the server's
 * relay_member_traffic). Errors as netkey_client_send_ex. */
NETKEY_API int netkey_client_send_private(netkey_client* client, const uint8_t* data, size_t size, int32_t delivery);
/* ABI 2. This client's team, or NETKEY_NO_TEAM (no teams, not joined yet, NULL). It
 * changes at the rekey that carries a switch (netkey_server_assign_team). */
NETKEY_API int32_t netkey_client_team(const netkey_client* client);
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
