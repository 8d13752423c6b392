// AuditTrail — zstd system library shim.
// SPDX-License-Identifier: Apache-2.0
#pragma once
// The buffer-less decompression API (ZSTD_decompressContinue), exported by libzstd.so but
// declared only for static linking, decodes a frame one block at a time into the caller's buffer.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zdict.h>
