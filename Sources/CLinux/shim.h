// AuditTrail — Linux calls that Glibc's Swift module does not export.
// SPDX-License-Identifier: Apache-2.0
#pragma once

// glibc declares syncfs(2) only under _GNU_SOURCE, which the Swift Glibc module is built without.
int syncfs(int fd);

// Returns free heap memory of every malloc arena to the kernel (malloc.h).
int malloc_trim(unsigned long pad);
