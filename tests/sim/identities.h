// Tests use the demo PKI (samples/common/pki.h) under their own namespace.
#ifndef NETKEY_TESTS_SIM_IDENTITIES_H_
#define NETKEY_TESTS_SIM_IDENTITIES_H_

#include "common/pki.h"

namespace netkey::testing {
using demo::Identities;
using demo::Identity;
using demo::kSimUnixTime;
}  // namespace netkey::testing

#endif  // NETKEY_TESTS_SIM_IDENTITIES_H_
