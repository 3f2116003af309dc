import ArgumentParser
import Foundation
import MigrationCore
import MigrationReporting
import MigrationScenario
import MigrationSimulation

/// `livemig simulate`: predicts a migration from a scenario file.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Predict a migration: total time, downtime, data sent, iterations, outcome.",
        discussion: "Without SCENARIO, runs the embedded default (the seed document's 1024 MiB guest)."
    )

    @Argument(help: "A scenario file (YAML); see docs/scenario-format.md.")
    var scenario: String?

    @Option(help: "Override the scenario's policy: xen3, xen4, qemu or timeout.")
    var policy: String?

    @Option(help: "The random seed (a run prints the seed it used).")
    var seed: UInt64?

    @Option(help: "page (exact bitmaps) or fluid (expected values).")
    var fidelity: String?

    @Option(help: "table, json or csv.")
    var format: String = "table"

    @Option(name: .customLong("set"), help: "Override any scenario key: --set link.bandwidth=10Gbit/s (repeatable).")
    var overrides: [String] = []

    @Option(help: "Also write NAME.json and NAME.csv (e.g. results/web-4g).")
    var output: String?

    func run() throws {
        guard let format = ReportFormat(rawValue: format) else {
            throw ValidationError("--format: '\(format)' is not one of table, json, csv")
        }
        var allOverrides = overrides
        if let policy {
            guard PolicyName(rawValue: policy) != nil else {
                throw ValidationError("--policy: '\(policy)' is not one of \(PolicyName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            allOverrides.append("policy.name=\(policy)")
        }
        if let seed { allOverrides.append("seed=\(seed)") }
        if let fidelity {
            guard Fidelity(rawValue: fidelity) != nil else {
                throw ValidationError("--fidelity: '\(fidelity)' is not one of page, fluid")
            }
            allOverrides.append("simulation.fidelity=\(fidelity)")
        }
        let loaded: Scenario
        do {
            loaded = try ScenarioFiles.load(scenario, overrides: allOverrides)
        } catch {
            throw failure(error.description)
        }
        let result: SimulationResult
        do {
            result = try Simulator.run(loaded.config)
        } catch {
            throw failure(error.description)
        }
        var report = result.report
        report.scenario = loaded.name
        let rerun = "livemig simulate" + (scenario.map { " \($0)" } ?? "") + " --seed \(loaded.config.seed)"
            + (fidelity.map { " --fidelity \($0)" } ?? "") + (policy.map { " --policy \($0)" } ?? "")
            + overrides.map { " --set \($0)" }.joined()
        let title = "\(loaded.name): \(loaded.summary ?? "")\nrerun: \(rerun)\n"
        print(ReportRendering.render(report, as: format, title: title), terminator: "")
        if let output {
            try ScenarioFiles.write(ReportRendering.json(report), to: output + ".json", option: "--output")
            try ScenarioFiles.write(ReportRendering.csv(report), to: output + ".csv", option: "--output")
        }
    }
}

/// Prints an error already phrased for the user to standard error; exit status 1.
func failure(_ message: String) -> ExitCode {
    FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    return ExitCode.failure
}
