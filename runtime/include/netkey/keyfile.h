// netkey/keyfile.h: the text formats of key files (docs/KEYFILES.md).
//
// Pure encode/parse functions: reading and writing files is the caller's job (netkey-ca
// writes secret key files with mode 0600). A secret key file holds an Ed25519 seed:
//
//   netkey-secret-key-v1
//   kind: ca | identity
//   subject: <subject id>
//   seed: <64 lowercase hex digits>
//   check: <8 hex digits: first 4 bytes of BLAKE2b-256(seed)>
//
// A CA public file holds what verifiers trust:
//
//   netkey-ca-public-v1
//   subject: <CA name>
//   public-key: <64 hex digits>
//   key-id: <32 hex digits>
#ifndef NETKEY_KEYFILE_H_
#define NETKEY_KEYFILE_H_

#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "netkey/keys.h"
#include "netkey/status.h"

namespace netkey {

struct SecretKeyFile {
  std::string kind;     // "ca" or "identity"
  std::string subject;  // who the key belongs to
  SigningSeed seed;
};

// The returned string contains the secret: wipe it (sodium_memzero) after writing. It is
// built without reallocation or temporaries, so it is the only copy.
std::string encode_secret_key_file(std::string_view kind, std::string_view subject,
                                   const SigningSeed& seed);
// Errors: kMalformed with a message naming the bad field (never the secret itself): a
// wrong header, a field missing or given twice, an unknown kind, a seed that is not
// exactly 64 hex digits, a check that is not 8, or a check that does not match. The
// seed is decoded (sodium_hex2bin) from `text` straight into the returned SigningSeed;
// no other copy is made, so wiping `text` afterwards is the caller's only duty.
Result<SecretKeyFile> parse_secret_key_file(std::string_view text);

struct CaPublicFile {
  std::string subject;
  Ed25519PublicKey public_key;
};

std::string encode_ca_public_file(std::string_view subject, const Ed25519PublicKey& key);
// Errors: kMalformed (bad header, a field missing or given twice, bad hex, a key id
// that does not match the key).
Result<CaPublicFile> parse_ca_public_file(std::string_view text);

// Lowercase hex of bytes (public data only).
std::string to_hex(std::span<const uint8_t> bytes);
// Errors: kMalformed on odd length or a non-hex digit.
Result<std::vector<uint8_t>> from_hex(std::string_view hex);

}  // namespace netkey

#endif  // NETKEY_KEYFILE_H_
