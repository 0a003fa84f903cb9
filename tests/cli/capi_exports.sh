#!/usr/bin/env bash
# libnetkey exports exactly the functions netkey.h declares (NETKEY_API), no more (the
# static runtime's C++ symbols stay local) and no fewer (a function missing from
# plugin/capi/netkey.map). Usage: capi_exports.sh LIBNETKEY NETKEY_H
set -euo pipefail
lib=$1 header=$2
declared=$(grep -oE 'NETKEY_API [^(]*\(' "$header" | grep -oE 'netkey_[a-z0-9_]+' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sed 's/@.*//' | sort -u)
test -n "$declared"
if [ "$declared" != "$exported" ]; then
  echo "declared in netkey.h but not exported:"; comm -23 <(echo "$declared") <(echo "$exported")
  echo "exported but not declared in netkey.h:"; comm -13 <(echo "$declared") <(echo "$exported")
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$(echo "$declared" | wc -l) functions exported as declared; 1 passed, 0 failed"
