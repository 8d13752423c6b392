// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

// The sample traffic the CLI's demo and `publish --sample` send lives in a production module of its
// own, so the `audit-trail` executable does not link this test kit; tests and benchmarks keep
// getting it (`SampleTraffic`, `SeededRandom`, `JSONText`) from here.
@_exported import AuditTraffic
