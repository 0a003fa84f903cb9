/* A C consumer of the installed libnetkey: checks that the library it loaded knows the
 * ABI of the netkey.h it was compiled with, then makes a server fail on a missing file. */
#include <stdio.h>

#include "netkey.h"

int main(void) {
  netkey_server* s = NULL;
  netkey_server_config c;
  int rc;
  if (netkey_abi_version() < NETKEY_ABI_VERSION) {
    fprintf(stderr, "consumer: libnetkey %s has ABI %u, older than netkey.h's %u\n", netkey_version(),
            (unsigned)netkey_abi_version(), (unsigned)NETKEY_ABI_VERSION);
    return 1;
  }
  if (netkey_server_config_init(&c) != NETKEY_OK) return 1; /* sets c.struct_size, fills defaults */
  c.charter_path = "/nonexistent";
  rc = netkey_server_create(&c, &s);
  if (rc != NETKEY_ERR_IO || s != NULL) return 1;
  printf("consumer: libnetkey %s (ABI %u) says: %s\n", netkey_version(), (unsigned)netkey_abi_version(),
         netkey_strerror(rc));
  return 0;
}
