#ifndef CALLAUDIT_CLIBPQ_SHIM_H
#define CALLAUDIT_CLIBPQ_SHIM_H

#include <postgresql/libpq-fe.h>

#endif
