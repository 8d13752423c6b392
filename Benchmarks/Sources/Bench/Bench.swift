// AuditTrail — benchmarks
// SPDX-License-Identifier: Apache-2.0

import ArgumentParser

/// `bench`: the figures that take a whole pipeline (a store, an embedded cluster, a worker
/// process, a web server): printed, never gated. Micro benchmarks (decode, encode, block decode,
/// id lookup) are ordo-one/benchmark targets under `Benchmarks/`, run by `swift package benchmark`.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Print performance figures of AuditTrail.",
        subcommands: [KafkaBench.self, ClientBench.self, DecodeBench.self, StoreBench.self, WorkerBench.self, ReadBench.self,
                      ServeBench.self])
}
