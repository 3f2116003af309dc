import MigrationCore

/// One setting `livemig tune` tried: the knob values it set and what its runs gave.
public struct TuneCandidate: Sendable, Equatable, Codable {
    /// KEY -> value; empty for the scenario as written (the policy's defaults).
    public var settings: [String: String]
    public var summary: SweepPointSummary
    public var objective: Double
    public var feasible: Bool
    /// Which pass tried it: "defaults", "grid", "refine".
    public var stage: String

    public var overrides: [String] { Self.overrides(settings) }

    /// A setting as `--set` takes it: KEY=VALUE, by key.
    static func overrides(_ settings: [String: String]) -> [String] {
        settings.keys.sorted().map { "\($0)=\(settings[$0]!)" }
    }
}

/// What tuning found: the defaults, the best feasible setting, both confirmed with fresh seeds,
/// every setting tried and the Pareto front.
public struct TuneOutcome: Sendable, Codable {
    public var objective: TuneMetric
    public var constraints: [TuneConstraint]
    public var knobs: [TuneKnob]
    public var runs: Int
    /// Guest memory, for bytes as a multiple of it.
    public var guestBytes: Double
    public var defaults: TuneCandidate
    public var best: TuneCandidate?
    /// The best and the defaults again, with seeds none of the search used.
    public var confirmedBest: TuneCandidate?
    public var confirmedDefaults: TuneCandidate
    public var tried: [TuneCandidate]
    /// Settings no other beats on the objective, p95 time and bytes all at once (among those
    /// whose runs all completed).
    public var pareto: [TuneCandidate]

    /// Whether the confirmed best is better than the confirmed defaults (feasible and a lower
    /// objective); else the defaults stand.
    public var improves: Bool {
        guard let confirmedBest, confirmedBest.feasible else { return false }
        return !confirmedDefaults.feasible || confirmedBest.objective < confirmedDefaults.objective
    }
}

/// The search: a bounded grid over the knobs' coarse values, then two rounds of local
/// refinement (each knob tried halfway to its neighbours around the best), all with the same
/// seeds (common random numbers), then a confirmation with fresh seeds.
///
/// Why not GSL's minimizers: the objective is a percentile over random runs (noisy, flat in
/// places, stepped where a threshold changes the number of rounds), several knobs are whole
/// numbers, and the constraints cut the space: a derivative-free, bounded search that
/// evaluates whole batches on every core handles all of that and is reproducible from a seed.
public enum TuneSearch {
    /// The most settings the coarse grid may hold.
    public static let maxGridSettings = 5000

    /// `evaluate(settings, baseSeed)` simulates each setting (a list of KEY=VALUE) with the runs'
    /// seeds from `baseSeed` and returns one summary per setting.
    public static func run(knobs: [TuneKnob], objective: TuneMetric, constraints: [TuneConstraint], runs: Int, baseSeed: UInt64,
                           guestBytes: Double,
                           evaluate: ([[String]], UInt64) throws(HostFailure) -> [SweepPointSummary]) throws(HostFailure) -> TuneOutcome {
        guard !knobs.isEmpty else { throw HostFailure("tune: no knobs to tune") }
        var size = 1
        for knob in knobs {
            size *= knob.values.count
            guard size <= maxGridSettings else {
                throw HostFailure("tune: the knobs' grid has more than \(maxGridSettings) settings; tune fewer knobs at once or give shorter --knob lists")
            }
        }
        func candidates(_ settings: [[String: String]], stage: String, seed: UInt64) throws(HostFailure) -> [TuneCandidate] {
            let overrides = settings.map(TuneCandidate.overrides)
            let summaries = try evaluate(overrides, seed)
            return zip(settings, summaries).map { setting, summary in
                TuneCandidate(settings: setting, summary: summary, objective: objective.value(of: summary, guestBytes: guestBytes),
                              feasible: summary.aborted == 0 && constraints.allSatisfy { $0.holds(summary, guestBytes: guestBytes) }, stage: stage)
            }
        }
        func better(_ a: TuneCandidate, than b: TuneCandidate?) -> Bool {
            guard let b else { return a.feasible }
            guard a.feasible else { return false }
            if !b.feasible { return true }
            if a.objective != b.objective { return a.objective < b.objective }
            return a.summary.totalTimeSeconds.p95 < b.summary.totalTimeSeconds.p95
        }

        let defaults = try candidates([[:]], stage: "defaults", seed: baseSeed)[0]
        var grid: [[String: String]] = [[:]]
        for knob in knobs { grid = grid.flatMap { setting in knob.values.map { setting.merging([knob.key: $0]) { $1 } } } }
        var tried = try candidates(grid, stage: "grid", seed: baseSeed)
        var best = tried.reduce(nil as TuneCandidate?) { better($1, than: $0) ? $1 : $0 }
        var ladders = Dictionary(uniqueKeysWithValues: knobs.map { ($0.key, $0) })
        for _ in 0 ..< 2 {
            guard let centre = best else { break }
            var next: [[String: String]] = []
            for knob in knobs {
                guard var ladder = ladders[knob.key], let value = centre.settings[knob.key] else { continue }
                for middle in ladder.between(value) where !tried.contains(where: { $0.settings == centre.settings.merging([knob.key: middle]) { $1 } }) {
                    next.append(centre.settings.merging([knob.key: middle]) { $1 })
                    ladder.values = (ladder.values + [middle]).sorted { (ladder.number($0) ?? 0) < (ladder.number($1) ?? 0) }
                }
                ladders[knob.key] = ladder
            }
            guard !next.isEmpty else { break }
            let refined = try candidates(next, stage: "refine", seed: baseSeed)
            tried += refined
            for candidate in refined where better(candidate, than: best) { best = candidate }
        }
        // Fresh seeds: far from any the search used.
        let freshSeed = baseSeed &+ UInt64(runs) &+ 1_000_003
        let confirmed = try candidates([best?.settings ?? [:], [:]], stage: "confirm", seed: freshSeed)
        return TuneOutcome(objective: objective, constraints: constraints, knobs: knobs, runs: runs, guestBytes: guestBytes, defaults: defaults, best: best,
                           confirmedBest: best == nil ? nil : confirmed[0], confirmedDefaults: confirmed[1], tried: tried,
                           pareto: paretoFront((tried + [defaults]).filter { $0.summary.aborted == 0 }, guestBytes: guestBytes))
    }

    /// Candidates no other is at least as good as on all of (objective, p95 time, bytes) and
    /// strictly better on one; by objective.
    static func paretoFront(_ candidates: [TuneCandidate], guestBytes: Double) -> [TuneCandidate] {
        // Each candidate's costs once: the comparisons below are quadratic.
        let costs = candidates.map { c in
            [c.objective, c.summary.totalTimeSeconds.p95, TuneMetric.bytes.value(of: c.summary, guestBytes: guestBytes)]
        }
        let front = candidates.indices.filter { mine in
            !costs.contains { theirs in
                zip(theirs, costs[mine]).allSatisfy { $0 <= $1 } && zip(theirs, costs[mine]).contains { $0 < $1 }
            }
        }
        var unique: [Int] = []
        for index in front.sorted(by: { costs[$0].lexicographicallyPrecedes(costs[$1]) })
            where !unique.contains(where: { costs[$0] == costs[index] }) {
            unique.append(index)
        }
        return unique.map { candidates[$0] }
    }
}
