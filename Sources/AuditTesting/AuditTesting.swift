// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

/// Shared fixtures for AuditTrail's tests: deadlines instead of sleeps, locating the built
/// `audit-trail` executable and the shared samples.
public enum AuditTesting {}
