import MigrationCore

/// What `livemig tune` measures at a setting: percentiles of time and downtime over its runs,
/// bytes sent as a multiple of guest memory, and the offline-fallback probability.
public enum TuneMetric: String, Sendable, CaseIterable, Codable {
    case p50Time = "p50-time", p95Time = "p95-time", p99Time = "p99-time"
    case p50Downtime = "p50-downtime", p95Downtime = "p95-downtime", p99Downtime = "p99-downtime"
    /// Mean bytes sent over guest memory ("3x").
    case bytes
    case fallback

    public func value(of point: SweepPointSummary, guestBytes: Double) -> Double {
        switch self {
        case .p50Time: point.totalTimeSeconds.p50
        case .p95Time: point.totalTimeSeconds.p95
        case .p99Time: point.totalTimeSeconds.p99
        case .p50Downtime: point.downtimeSeconds.p50
        case .p95Downtime: point.downtimeSeconds.p95
        case .p99Downtime: point.downtimeSeconds.p99
        case .bytes: guestBytes > 0 ? point.meanBytesSent / guestBytes : 0
        case .fallback: point.fallbackProbability
        }
    }

    /// The unit values are written in: seconds for times (`60s`, `100ms`), "x" for bytes.
    var unitHint: String {
        switch self {
        case .bytes: "a multiple of guest memory such as 3x"
        case .fallback: "a probability from 0 to 1"
        default: "a duration such as 60s or 100ms"
        }
    }

    /// Parses a bound for this metric: "60s", "100ms", "3x", "0.1".
    func bound(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        switch self {
        case .bytes:
            guard trimmed.hasSuffix("x"), let value = Double(trimmed.dropLast()), value.isFinite, value >= 0 else { return nil }
            return value
        case .fallback:
            guard let value = Double(trimmed), (0 ... 1).contains(value) else { return nil }
            return value
        default:
            // The scenario files' durations (`Quantities.seconds`: 100ms, 60s, 2min, a bare number).
            return Quantities.seconds(trimmed).flatMap { $0 >= 0 ? $0 : nil }
        }
    }
}

/// One `--subject-to` bound: METRIC<=VALUE (only upper bounds: every metric is a cost).
public struct TuneConstraint: Sendable, Equatable, Codable, CustomStringConvertible {
    public var metric: TuneMetric
    public var limit: Double
    public var text: String

    public init(parsing text: String) throws(HostFailure) {
        let parts = text.components(separatedBy: "<=")
        guard parts.count == 2 else {
            throw HostFailure("--subject-to \(text): expected METRIC<=VALUE, e.g. p95-time<=60s or bytes<=3x")
        }
        guard let metric = TuneMetric(rawValue: parts[0].trimmingSpaces()) else {
            throw HostFailure("--subject-to \(text): '\(parts[0].trimmingSpaces())' is not one of \(TuneMetric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let limit = metric.bound(parts[1]) else {
            throw HostFailure("--subject-to \(text): '\(parts[1].trimmingSpaces())' is not \(metric.unitHint)")
        }
        self.metric = metric
        self.limit = limit
        self.text = text.trimmingSpaces()
    }

    /// Parses "A<=1,B<=2".
    public static func list(_ text: String) throws(HostFailure) -> [TuneConstraint] {
        try text.split(separator: ",").map { part throws(HostFailure) in try TuneConstraint(parsing: String(part)) }
    }

    public func holds(_ point: SweepPointSummary, guestBytes: Double) -> Bool {
        metric.value(of: point, guestBytes: guestBytes) <= limit
    }

    public var description: String { text }
}
