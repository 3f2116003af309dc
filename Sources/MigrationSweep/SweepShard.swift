import Foundation
import MigrationCore

/// Part I of N of a sweep (`--shard I/N`), for sweeps that outgrow one machine: a cluster's
/// array job runs each part (Slurm's `SLURM_ARRAY_TASK_ID`), `livemig merge` joins them. Part I
/// holds the contiguous simulations [total x (I-1) / N, total x I / N) in plan order, so the
/// parts merged are exactly the unsharded sweep (same points, same seeds).
public struct SweepShard: Sendable, Equatable, Codable {
    public var index: Int
    public var count: Int

    /// Decoded through the checks (a part file is input like any other).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        do {
            try self.init(index: try container.decode(Int.self, forKey: .index), count: try container.decode(Int.self, forKey: .count))
        } catch let error as HostFailure {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public static let maxCount = 100_000

    public init(index: Int, count: Int) throws(HostFailure) {
        guard (1 ... Self.maxCount).contains(count), (1 ... count).contains(index) else {
            throw HostFailure("--shard \(index)/\(count): I/N with 1 <= I <= N <= \(Self.maxCount)")
        }
        self.index = index
        self.count = count
    }

    /// Parses "I/N".
    public init(parsing text: String) throws(HostFailure) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw HostFailure("--shard \(text): expected I/N, e.g. 3/10")
        }
        try self.init(index: index, count: count)
    }

    /// This part's simulations among `total`.
    public func simulations(of total: Int) -> Range<Int> {
        // total <= SweepPlan.maxSimulations and count <= maxCount: the products fit in Int.
        (total * (index - 1) / count) ..< (total * index / count)
    }
}

/// One part of a sharded sweep as `sweep --shard` writes it (JSON) and `merge` reads it.
public struct SweepPart: Sendable, Codable {
    public var scenario: String
    /// What the runs were computed from besides the plan: a digest of the scenario's text and
    /// the sweep's `--set`s (parts of sweeps that differ there must not be merged).
    public var fingerprint: String
    public var axes: [SweepAxis]
    public var runsPerPoint: Int
    public var baseSeed: UInt64
    public var shard: SweepShard
    public var runs: [SweepRun]

    public init(result scenario: String, fingerprint: String, plan: SweepPlan, shard: SweepShard, runs: [SweepRun]) {
        self.scenario = scenario
        self.fingerprint = fingerprint
        axes = plan.axes
        runsPerPoint = plan.runs
        baseSeed = plan.baseSeed
        self.shard = shard
        self.runs = runs
    }

    public func json() throws(HostFailure) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        } catch {
            throw HostFailure("the sweep part's JSON: \(error)")
        }
    }

    public static func read(path: String) throws(HostFailure) -> SweepPart {
        do {
            return try JSONDecoder().decode(SweepPart.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw HostFailure("\(path): not a sweep part written by livemig sweep --shard (\(error))")
        }
    }

    /// Joins every part of one sweep into the whole: the same plan in each, each part once,
    /// each holding exactly its simulations.
    public static func merge(_ parts: [(path: String, part: SweepPart)]) throws(HostFailure) -> SweepResult {
        guard let first = parts.first?.part else { throw HostFailure("merge: name the parts (PATH.part-I-of-N.json ...)") }
        let plan = try SweepPlan(axes: first.axes, runs: first.runsPerPoint, baseSeed: first.baseSeed)
        let count = first.shard.count
        var byIndex: [Int: SweepPart] = [:]
        for (path, part) in parts {
            guard part.scenario == first.scenario, part.fingerprint == first.fingerprint, part.axes == first.axes,
                  part.runsPerPoint == first.runsPerPoint, part.baseSeed == first.baseSeed, part.shard.count == count else {
                throw HostFailure("\(path): part of another sweep (its scenario, --set, --vary, --runs, seed or N differ from \(parts[0].path))")
            }
            // Every run's place and seed, checked before any arithmetic with them.
            for run in part.runs where !(0 ..< plan.pointCount).contains(run.point) || !(0 ..< plan.runs).contains(run.run)
                || run.seed != plan.seed(ofRun: run.run) {
                throw HostFailure("\(path): a run (point \(run.point), run \(run.run), seed \(run.seed)) that is not in the sweep's plan")
            }
            guard byIndex.updateValue(part, forKey: part.shard.index) == nil else {
                throw HostFailure("\(path): part \(part.shard.index)/\(count) is given twice")
            }
            let expected = part.shard.simulations(of: plan.simulationCount)
            let indices = part.runs.map { $0.point * plan.runs + $0.run }
            guard indices == Array(expected) else {
                throw HostFailure("\(path): part \(part.shard.index)/\(count) does not hold its simulations \(expected.lowerBound)..<\(expected.upperBound)")
            }
        }
        let missing = (1 ... count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw HostFailure("merge: parts \(missing.prefix(10).map(String.init).joined(separator: ", "))\(missing.count > 10 ? ", ..." : "") of \(count) are missing")
        }
        let runs = (1 ... count).flatMap { byIndex[$0]!.runs }
        return SweepResult(scenario: first.scenario, plan: plan, runs: runs)
    }
}
