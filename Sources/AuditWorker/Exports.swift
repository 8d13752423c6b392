// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

// The pair view and its query live in the read-side module, which builds without Kafka; the
// worker's API takes them (`Replay.republish(from:filters:…)`), so its users get them from here.
@_exported import AuditQuery
