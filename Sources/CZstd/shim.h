// AuditTrail — zstd system library shim.
// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <zstd.h>
#include <zdict.h>
