// AuditTrail — worker
// SPDX-License-Identifier: Apache-2.0

public import CoreMetrics
public import Prometheus

/// swift-prometheus' metrics factory, with a HELP line for each metric it knows.
///
/// swift-metrics has no place for a description, so `PrometheusMetricsFactory` registers every
/// metric with an empty HELP text (and the registry refuses a second, different text for a name).
/// This factory makes the same collectors, passing the text of `descriptions` for the metric's
/// name; other names get none. Histograms (swift-metrics `Timer`s) use `durationBuckets` for their
/// name, else swift-prometheus' defaults.
public struct DescribedPrometheusFactory: MetricsFactory {
    /// Where the metrics are registered and rendered (`emit(into:)`).
    public let registry: PrometheusCollectorRegistry
    /// HELP text by metric name.
    public var descriptions: [String: String]
    /// Histogram buckets by metric name.
    public var durationBuckets: [String: [Duration]]
    private let plain: PrometheusMetricsFactory

    /// A factory registering into `registry`, by default with the worker's descriptions and buckets.
    public init(
        registry: PrometheusCollectorRegistry,
        descriptions: [String: String] = WorkerMetrics.descriptions,
        durationBuckets: [String: [Duration]] = ["audit_fsync_seconds": WorkerMetrics.fsyncBuckets]
    ) {
        self.registry = registry
        self.descriptions = descriptions
        self.durationBuckets = durationBuckets
        self.plain = PrometheusMetricsFactory(registry: registry)
    }

    private func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: descriptions[label] ?? "")
    }

    public func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(
            descriptor: descriptor(label), labels: dimensions, buckets: plain.defaultValueHistogramBuckets)
    }

    public func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    public func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(
            descriptor: descriptor(label), labels: dimensions,
            buckets: durationBuckets[label] ?? plain.defaultDurationHistogramBuckets)
    }

    public func destroyCounter(_ handler: any CounterHandler) { plain.destroyCounter(handler) }
    public func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {
        plain.destroyFloatingPointCounter(handler)
    }
    public func destroyRecorder(_ handler: any RecorderHandler) { plain.destroyRecorder(handler) }
    public func destroyMeter(_ handler: any MeterHandler) { plain.destroyMeter(handler) }
    public func destroyTimer(_ handler: any TimerHandler) { plain.destroyTimer(handler) }
}

extension WorkerMetrics {
    /// Metrics exported by `registry`, with HELP lines (``DescribedPrometheusFactory``). Tests give
    /// each worker a registry of its own.
    public convenience init(registry: PrometheusCollectorRegistry) {
        self.init(factory: DescribedPrometheusFactory(registry: registry))
    }
}
