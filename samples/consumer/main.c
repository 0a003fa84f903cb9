/* A C consumer of the installed libnetkey. */
#include <stdio.h>

#include "netkey.h"

int main(void) {
  netkey_server* s = NULL;
  netkey_server_config c;
  netkey_server_config_default(&c);
  c.charter_path = "/nonexistent";
  if (netkey_server_create(&c, &s) != NETKEY_ERR_INVALID_ARGUMENT && s == NULL) {
    printf("consumer: libnetkey says: %s\n", netkey_strerror(NETKEY_ERR_IO));
    return 0;
  }
  return 1;
}
