import Foundation
import MigrationCore
import MigrationSimulation
import Synchronization

/// One simulation of a sweep.
public struct SweepRun: Sendable, Equatable, Codable {
    public var point: Int
    public var run: Int
    public var seed: UInt64
    public var outcome: MigrationOutcome
    public var totalTimeSeconds: Double
    public var downtimeSeconds: Double
    public var bytesSent: Int
    public var liveIterations: Int
    /// Why a simulation could not run (then the numbers are 0 and the outcome `aborted`).
    public var error: String?
    /// What this run drew for the scenario's distributions (key -> text); nil without any.
    public var draws: [String: String]?

    public init(point: Int, run: Int, seed: UInt64, outcome: MigrationOutcome, totalTimeSeconds: Double, downtimeSeconds: Double,
                bytesSent: Int, liveIterations: Int, error: String?, draws: [String: String]? = nil) {
        self.point = point
        self.run = run
        self.seed = seed
        self.outcome = outcome
        self.totalTimeSeconds = totalTimeSeconds
        self.downtimeSeconds = downtimeSeconds
        self.bytesSent = bytesSent
        self.liveIterations = liveIterations
        self.error = error
        self.draws = draws
    }
}

/// One run's scenario: its settings, and what it drew for the scenario's distributions.
public struct SweepInput: Sendable {
    public var config: SimulationConfig
    public var draws: [String: String]

    public init(config: SimulationConfig, draws: [String: String] = [:]) {
        self.config = config
        self.draws = draws
    }
}

/// Runs a sweep's simulations on `jobs` threads. Every simulation is independent and seeded by
/// the plan, so the results are the same for any number of jobs; they come back in plan order
/// (point by point, run by run).
public enum SweepRunner {
    public static let maxJobs = 1024

    /// `configs[p]` is point p's scenario (its seed is replaced by each run's); `shard` limits
    /// the run to that part's simulations.
    public static func run(_ plan: SweepPlan, configs: [SimulationConfig], jobs: Int, shard: SweepShard? = nil,
                           progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws(HostFailure) -> [SweepRun] {
        guard configs.count == plan.pointCount else { preconditionFailure("one scenario per point") }
        return try run(plan, jobs: jobs, shard: shard, progress: progress) { point, seed in
            var config = configs[point]
            config.seed = seed
            return SweepInput(config: config)
        }
    }

    /// The same with each run's scenario made by `config(point, seed)`: for scenarios with
    /// distributions, where every seed draws its own values. A run whose scenario cannot be
    /// made (a draw the scenario refuses) is reported with its error.
    public static func run(_ plan: SweepPlan, jobs: Int, shard: SweepShard? = nil,
                           progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil,
                           config: @escaping @Sendable (_ point: Int, _ seed: UInt64) throws(HostFailure) -> SweepInput) throws(HostFailure) -> [SweepRun] {
        guard (1 ... maxJobs).contains(jobs) else { throw HostFailure("--jobs \(jobs): must be 1 to \(maxJobs)") }
        let range = shard?.simulations(of: plan.simulationCount) ?? 0 ..< plan.simulationCount
        let total = range.count
        let results = ResultSlots(count: total)
        let next = Atomic<Int>(0)
        let done = Atomic<Int>(0)
        let workers = min(jobs, max(total, 1))
        let finished = DispatchGroup()
        for _ in 0 ..< workers {
            finished.enter()
            Thread {
                defer { finished.leave() }
                while true {
                    let slot = next.add(1, ordering: .relaxed).oldValue
                    guard slot < total else { return }
                    let index = range.lowerBound + slot
                    let point = index / plan.runs, run = index % plan.runs, seed = plan.seed(ofRun: run)
                    do throws(HostFailure) {
                        let input = try config(point, seed)
                        var result = simulate(input.config, point: point, run: run)
                        result.draws = input.draws.isEmpty ? nil : input.draws
                        results.store(result, at: slot)
                    } catch {
                        results.store(SweepRun(point: point, run: run, seed: seed, outcome: .aborted, totalTimeSeconds: 0, downtimeSeconds: 0,
                                               bytesSent: 0, liveIterations: 0, error: error.description), at: slot)
                    }
                    let count = done.add(1, ordering: .relaxed).newValue
                    progress?(count, total)
                }
            }.start()
        }
        finished.wait()
        return results.all
    }

    private static func simulate(_ config: SimulationConfig, point: Int, run: Int) -> SweepRun {
        do {
            let report = try Simulator.run(config).report
            return SweepRun(point: point, run: run, seed: config.seed, outcome: report.outcome, totalTimeSeconds: report.totalTimeSeconds,
                            downtimeSeconds: report.downtimeSeconds, bytesSent: report.bytesSent,
                            liveIterations: report.liveIterationCount, error: nil)
        } catch {
            return SweepRun(point: point, run: run, seed: config.seed, outcome: .aborted, totalTimeSeconds: 0, downtimeSeconds: 0,
                            bytesSent: 0, liveIterations: 0, error: error.description)
        }
    }

    /// One slot per simulation, each written by exactly one worker.
    private final class ResultSlots: @unchecked Sendable {
        private var slots: [SweepRun?]
        private let lock = NSLock()
        init(count: Int) { slots = [SweepRun?](repeating: nil, count: count) }
        func store(_ run: SweepRun, at index: Int) { lock.withLock { slots[index] = run } }
        var all: [SweepRun] { lock.withLock { slots.map { $0! } } }
    }
}
