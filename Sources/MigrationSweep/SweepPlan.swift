import MigrationCore

/// A sweep: the cross product of the varied keys' values (each combination a point), each
/// point simulated with `runs` seeds. Run r of every point uses seed `baseSeed + r`, so points
/// differ only in what was varied (common random numbers: differences between points are the
/// parameters', not the seeds').
public struct SweepPlan: Sendable, Equatable {
    public var axes: [SweepAxis]
    public var runs: Int
    public var baseSeed: UInt64

    /// The most simulations one sweep may ask for (points x runs).
    public static let maxSimulations = 10_000_000
    public static let maxRuns = 1_000_000

    public init(axes: [SweepAxis], runs: Int, baseSeed: UInt64) throws(HostFailure) {
        guard (1 ... Self.maxRuns).contains(runs) else {
            throw HostFailure("--runs \(runs): must be 1 to \(Self.maxRuns)")
        }
        var seen = Set<String>()
        for axis in axes where !seen.insert(axis.key).inserted {
            throw HostFailure("--vary \(axis.key): the key is varied twice")
        }
        if seen.contains("seed") {
            throw HostFailure("--vary seed: each point already runs --runs seeds (run r uses the scenario's seed + r); set the first with --set seed=N")
        }
        var points = 1
        for axis in axes {
            guard !axis.values.isEmpty else { throw HostFailure("--vary \(axis.key): no values") }
            let (product, overflow) = points.multipliedReportingOverflow(by: axis.values.count)
            guard !overflow, product <= Self.maxSimulations else {
                throw HostFailure("the sweep has more than \(Self.maxSimulations) points")
            }
            points = product
        }
        let (simulations, overflow) = points.multipliedReportingOverflow(by: runs)
        guard !overflow, simulations <= Self.maxSimulations else {
            throw HostFailure("\(points) points x \(runs) runs is more than \(Self.maxSimulations) simulations")
        }
        self.axes = axes
        self.runs = runs
        self.baseSeed = baseSeed
    }

    /// Points in order: the last axis varies fastest.
    public var pointCount: Int { axes.reduce(1) { $0 * $1.values.count } }
    public var simulationCount: Int { pointCount * runs }

    /// The varied values of point `index`, one per axis.
    public func values(ofPoint index: Int) -> [String] {
        var remainder = index
        var values = [String](repeating: "", count: axes.count)
        for (position, axis) in axes.enumerated().reversed() {
            values[position] = axis.values[remainder % axis.values.count]
            remainder /= axis.values.count
        }
        return values
    }

    /// `KEY=VALUE` overrides of point `index`.
    public func overrides(ofPoint index: Int) -> [String] {
        zip(axes, values(ofPoint: index)).map { "\($0.key)=\($1)" }
    }

    /// The seed of run `run` (wrapping past 2^64 - 1).
    public func seed(ofRun run: Int) -> UInt64 { baseSeed &+ UInt64(run) }
}
