import ArgumentParser
import Foundation
import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep

/// `livemig sweep`: one scenario simulated over the cross product of varied keys, several
/// seeds per point, on every core: percentiles of time and downtime and the chance of an
/// offline fallback per point, a CSV of every run and a JSON summary under `results/`.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Simulate a scenario over varied keys and seeds: percentiles and fallback probability per point.",
        discussion: """
        Without SCENARIO, sweeps the embedded default. Each --vary takes KEY=V1,V2,... (values as in \
        a scenario file) or KEY=A..B/N (N values from A to B, one unit): \
        --vary link.bandwidth=1Gbit/s,10Gbit/s --vary policy.maxIterations=5..30/6. \
        Run r of every point uses seed (the scenario's seed + r).
        """
    )

    @Argument(help: "A scenario file (YAML); see docs/scenario-format.md.")
    var scenario: String?

    @Option(name: .customLong("vary"), help: "KEY=V1,V2,... or KEY=A..B/N (repeatable; the sweep is their cross product).")
    var varies: [String] = []

    @Option(help: "Seeds per point (1 to 1,000,000).")
    var runs: Int = 10

    @Option(help: "Simulations at once (1 to 1024; default: every core).")
    var jobs: Int?

    @Option(name: .customLong("set"), help: "Override a scenario key for every point: --set link.latency=1ms (repeatable).")
    var overrides: [String] = []

    @Option(help: "Write OUTPUT.csv (every run) and OUTPUT.json (per point); default results/NAME-sweep.")
    var output: String?

    @Option(help: "table or json (what is printed).")
    var format: String = "table"

    @Option(help: "Run only part I of N (1-based) and write OUTPUT.part-I-of-N.json for `livemig merge`.")
    var shard: String?

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        let base: Scenario
        let plan: SweepPlan
        let part: SweepShard?
        let source: ScenarioFiles.Source
        var configs: [SimulationConfig] = []
        do {
            part = try shard.map { text throws(HostFailure) in try SweepShard(parsing: text) }
            let axes = try varies.map { text throws(HostFailure) in try SweepAxis(parsing: text) }
            source = try ScenarioFiles.Source.open(scenario)
            base = try source.checked(overrides, point: [])
            plan = try SweepPlan(axes: axes, runs: runs, baseSeed: base.config.seed)
            // Every point is read (and checked) before anything runs.
            for point in 0 ..< plan.pointCount { configs.append(try source.checked(overrides, point: plan.overrides(ofPoint: point)).config) }
        } catch {
            throw failure(error.description)
        }
        let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
        let progress = SweepProgress(enabled: isatty(2) != 0)
        let started = Date()
        let runs: [SweepRun]
        do throws(HostFailure) {
            if base.hasDistributions {
                // Monte Carlo: each run draws its own values with its seed.
                let overrides = self.overrides
                runs = try SweepRunner.run(plan, jobs: jobs, shard: part, progress: progress.update) { point, seed throws(HostFailure) in
                    try source.drawn(overrides + plan.overrides(ofPoint: point), seed: seed)
                }
            } else {
                runs = try SweepRunner.run(plan, configs: configs, jobs: jobs, shard: part, progress: progress.update)
            }
        } catch {
            throw failure(error.description)
        }
        progress.finish()
        let prefix = output ?? "results/\(base.name)-sweep"
        if let part {
            let path = "\(prefix).part-\(part.index)-of-\(part.count).json"
            do {
                let part = SweepPart(result: base.name, fingerprint: source.fingerprint(overrides: overrides), plan: plan, shard: part, runs: runs)
                try ScenarioFiles.write(try part.json(), to: path, option: "--output")
            } catch let error as HostFailure {
                throw failure(error.description)
            }
            print("part \(part.index) of \(part.count): \(runs.count) of \(plan.simulationCount) simulations in \(path)")
            return
        }
        try SweepTable.write(SweepResult(scenario: base.name, plan: plan, runs: runs), to: prefix, format: format,
                             timing: (Date().timeIntervalSince(started), jobs))
    }
}
