import ArgumentParser
import Foundation
import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep

/// `livemig tune`: searches a policy's thresholds for the setting that minimizes one metric
/// (p95 downtime by default) under bounds on others, confirms it with fresh seeds against the
/// policy's defaults, and prints the Pareto front of downtime, time and bytes.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Search thresholds: minimize one metric subject to bounds; compare with the policy's defaults.",
        discussion: """
        Metrics: \(TuneMetric.allCases.map(\.rawValue).joined(separator: ", ")). Bounds: --subject-to \
        "p95-time<=60s,bytes<=3x,fallback<=0.1". Knobs with built-in ranges: \(TuneKnob.builtInKeys.joined(separator: ", ")); \
        default: the scenario's policy's own. The search is a bounded grid refined locally (TuneSearch says why).
        """
    )

    @Argument(help: "A scenario file (YAML); without it the embedded default.") var scenario: String?
    @Option(help: "The metric to minimize.") var minimize: String = "p95-downtime"
    @Option(name: .customLong("subject-to"), help: "Bounds, METRIC<=VALUE, comma-separated.") var subjectTo: String?
    @Option(help: "Knobs to tune, comma-separated (built-in ranges).") var knobs: String?
    @Option(name: .customLong("knob"), help: "A knob with its own values: KEY=V1,V2,... ascending (repeatable).") var customKnobs: [String] = []
    @Option(help: "Seeds per setting (1 to 1,000,000).") var runs: Int = 20
    @Option(help: "Simulations at once (default: every core).") var jobs: Int?
    @Option(name: .customLong("set"), help: "Override a scenario key first (repeatable).") var overrides: [String] = []
    @Option(help: "Write OUTPUT.json and OUTPUT.html; default results/NAME-tune.") var output: String?

    func run() throws {
        let outcome: TuneOutcome
        let name: String
        do throws(HostFailure) {
            guard let objective = TuneMetric(rawValue: minimize) else {
                throw HostFailure("--minimize \(minimize): not one of \(TuneMetric.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let constraints = try subjectTo.map(TuneConstraint.list) ?? []
            let source = try ScenarioFiles.Source.open(scenario)
            let base = try source.checked(overrides, point: [])
            name = base.name
            let link = base.config.link.bandwidthProfile[0].bytesPerSecond
            let keys: [String] = knobs.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                ?? TuneKnob.defaultKeys(for: base.config.policy.name)
            var chosen: [TuneKnob] = []
            for key in keys where !customKnobs.contains(where: { $0.hasPrefix(key + "=") }) {
                chosen.append(try TuneKnob.builtIn(key, linkBytesPerSecond: link))
            }
            for text in customKnobs {
                chosen.append(try TuneKnob(axis: try SweepAxis(parsing: text)))
            }
            var seen = Set<String>()
            for knob in chosen where !seen.insert(knob.key).inserted {
                throw HostFailure("--knobs / --knob \(knob.key): the knob is given twice")
            }
            if seen.contains("seed") { throw HostFailure("--knob seed: the seed is not a threshold (each setting runs --runs seeds)") }
            let plan = try SweepPlan(axes: [], runs: runs, baseSeed: base.config.seed)
            let jobs = self.jobs ?? ProcessInfo.processInfo.activeProcessorCount
            let guestBytes = Double(base.config.guestMemoryBytes)
            let evaluator: ([[String]], UInt64) throws(HostFailure) -> [SweepPointSummary] = { settings, seed throws(HostFailure) in
                try evaluate(settings, seed: seed, source: source, jobs: jobs)
            }
            outcome = try TuneSearch.run(knobs: chosen, objective: objective, constraints: constraints, runs: plan.runs, baseSeed: plan.baseSeed,
                                         guestBytes: guestBytes, evaluate: evaluator)
        } catch {
            throw failure(error.description)
        }
        print(TuneTable.render(outcome, scenario: name), terminator: "")
        let path = (output ?? "results/\(name)-tune") + ".json"
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try ScenarioFiles.write(String(decoding: try encoder.encode(outcome), as: UTF8.self) + "\n", to: path, option: "--output")
        let report = (output ?? "results/\(name)-tune") + ".html"
        try ScenarioFiles.write(TuneHTMLReport.render(outcome, scenario: name), to: report, option: "--output")
        print("every setting tried: \(path); report: \(report)")
    }

    /// Simulates each setting with `runs` seeds from `seed`; one summary per setting.
    private func evaluate(_ settings: [[String]], seed: UInt64, source: ScenarioFiles.Source, jobs: Int) throws(HostFailure) -> [SweepPointSummary] {
        let checked = try settings.map { setting throws(HostFailure) in try source.checked(overrides, point: setting) }
        let configs = checked.map(\.config)
        let distributions = checked.first?.hasDistributions ?? false
        let plan = try SweepPlan(axes: [SweepAxis(key: "setting", values: settings.indices.map(String.init))], runs: runs, baseSeed: seed)
        let extra = overrides
        let runs = try SweepRunner.run(plan, jobs: jobs) { point, seed throws(HostFailure) in
            guard distributions else {
                var config = configs[point]
                config.seed = seed
                return SweepInput(config: config)
            }
            return try source.drawn(extra + settings[point], seed: seed)
        }
        return SweepResult(scenario: "", plan: plan, runs: runs).points
    }
}
