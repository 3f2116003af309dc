import ArgumentParser
import Foundation
import MigrationCore
import MigrationSweep

/// `livemig merge`: joins the parts of a sharded sweep (`sweep --shard I/N`, one per cluster
/// task) into the one result an unsharded sweep writes: the same CSV, JSON and table.
struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Join the parts of a sharded sweep (sweep --shard I/N) into one result.")

    @Argument(help: "Every part: PATH.part-I-of-N.json.") var parts: [String] = []
    @Option(help: "Write OUTPUT.csv and OUTPUT.json; default results/NAME-sweep.") var output: String?
    @Option(help: "table or json (what is printed).") var format: String = "table"

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        let result: SweepResult
        do {
            result = try SweepPart.merge(try parts.map { path throws(HostFailure) in (path, try SweepPart.read(path: path)) })
        } catch {
            throw failure(error.description)
        }
        try SweepTable.write(result, to: output ?? "results/\(result.scenario)-sweep", format: format, timing: nil)
    }
}
