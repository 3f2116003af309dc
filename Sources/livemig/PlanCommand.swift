import ArgumentParser
import Foundation
import GuestControl
import MigrationCore
import MigrationScenario
import MigrationSimulation
import MigrationSweep

/// `livemig plan`: capacity planning across many migrations.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Plan many migrations at once: `livemig plan evacuate HOST.yaml`.",
        subcommands: [EvacuateCommand.self])
}

/// `livemig plan evacuate HOST.yaml`: chooses the order and the number of migrations at once
/// that empty a host soonest with every guest's downtime within the limit, compares it with
/// the usual strategies, and writes the plan as JSON and as an HTML report with a Gantt chart.
struct EvacuateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evacuate",
        abstract: "Plan (and with --execute, run) the evacuation of a host described by a host file.",
        discussion: "The host file's format: docs/evacuation-format.md. Example: scenarios/hosts/evacuate-rack.yaml.")

    @Argument(help: "A host file (YAML).") var hostFile: String
    @Option(help: "The most migrations at once to consider (default: the host file's plan.maxConcurrent, else every guest).")
    var maxConcurrent: Int?
    @Option(help: "Schedules to simulate at most (default: the host file's plan.budget, else 600).") var budget: Int?
    @Option(help: "table or json.") var format: String = "table"
    @Option(help: "Write OUTPUT.json and OUTPUT.html; default results/NAME-plan.") var output: String?
    @Flag(help: "Run the plan for real: one `livemig migrate --live` per guest (KVM guests running here), under the schedule; report planned against measured.")
    var execute = false
    @Option(help: "With --execute: cancel a migration still running after this many seconds (1 to 86,400; default 3600).")
    var migrationTimeout: Double = 3600
    @Flag(help: "With --execute: mutual TLS with the files in /etc/livemig/tls.") var tls = false
    @Option(help: "With --execute: mutual TLS with the files in DIR.") var tlsDir: String?
    @OptionGroup var host: RunDirectoryOption

    static let concurrentBound = InputBound("--max-concurrent", .count, from: EvacuationHostFile.concurrentRange.from,
                                            to: EvacuationHostFile.concurrentRange.to)
    static let budgetBound = InputBound("--budget", .count, from: EvacuationHostFile.budgetRange.from, to: EvacuationHostFile.budgetRange.to)
    static let migrationTimeoutBound = InputBound("--migration-timeout", .seconds, from: "1", to: "86400")

    func run() throws {
        var report: EvacuationPlanReport
        let name: String
        var execution: EvacuationExecution?
        do throws(HostFailure) {
            guard ["table", "json"].contains(format) else { throw HostFailure("--format \(format): not one of table, json") }
            do {
                if let maxConcurrent { try Self.concurrentBound.check(maxConcurrent) }
                if let budget { try Self.budgetBound.check(budget) }
                _ = try Self.migrationTimeoutBound.check(migrationTimeout, written: "\(migrationTimeout)")
            } catch {
                throw HostFailure(error.description)
            }
            let host: EvacuationHostFile
            do {
                host = try EvacuationHostFile.load(path: hostFile)
            } catch {
                throw HostFailure(error.description)
            }
            name = host.name
            // Before the search, which may take long: a run that cannot happen fails at once.
            if execute { try EvacuationExecution.checkHost(host, runDirectory: self.host.runDir) }
            let best: EvacuationEvaluation
            do throws(PlanError) {
                let planner = try EvacuationPlanner(setting: host.setting, fidelity: host.fidelity,
                                                    maxConcurrency: maxConcurrent ?? host.maxConcurrent,
                                                    budget: budget ?? host.budget, seed: host.seed)
                let plan = try planner.plan()
                report = EvacuationPlanReport(host: host.name, description: host.summary, plan: plan, setting: host.setting,
                                              finishBySeconds: host.finishBySeconds)
                best = plan.best
            } catch {
                throw HostFailure("\(hostFile): \(error.description)")
            }
            if execute {
                var tlsArguments: [String] = tls ? ["--tls"] : []
                if let tlsDir { tlsArguments += ["--tls-dir", tlsDir] }
                let run = EvacuationExecution(host: host, plan: best, runDirectory: self.host.runDir, tlsArguments: tlsArguments,
                                              migrationTimeoutSeconds: migrationTimeout) { line in
                    FileHandle.standardError.write(Data("\(line)\n".utf8))
                }
                try run.checkPlan()
                execution = run
            }
        } catch {
            throw failure(error.description)
        }
        if let execution {
            // The plan first, so that the operator sees what is about to happen; on stderr
            // with --format json, which keeps stdout one JSON document.
            let plan = PlanTable.render(report) + "executing the plan:\n"
            if format == "json" { FileHandle.standardError.write(Data(plan.utf8)) } else { print(plan, terminator: "") }
            do {
                report.measured = try execution.run()
            } catch {
                throw failure(error.description)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = String(decoding: try encoder.encode(report), as: UTF8.self) + "\n"
        let base = output ?? "results/\(name)-plan"
        try ScenarioFiles.write(json, to: base + ".json", option: "--output")
        try ScenarioFiles.write(EvacuationHTMLReport.render(report), to: base + ".html", option: "--output")
        if format == "json" {
            print(json, terminator: "")
        } else if let measured = report.measured {
            print(PlanTable.plannedAgainstMeasured(report.plan, measured), terminator: "")
            print("plan and measurements: \(base).json; report: \(base).html")
        } else {
            print(PlanTable.render(report), terminator: "")
            print("plan: \(base).json; report: \(base).html")
        }
        if let measured = report.measured, let problem = PlanTable.unmoved(measured) {
            throw failure("--execute: \(problem)")
        }
    }
}
