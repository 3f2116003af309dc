import ArgumentParser
import Foundation
import GuestControl
import MigrationCalibration
import MigrationReporting

/// `livemig history [NAME]`: the migrations this host's daemons ran, oldest first, from the
/// run directory's history file: what `calibrate --from-history` fits.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "List the migrations run from this host (the run directory's history).")

    @Argument(help: "Only this guest's migrations.") var name: String?
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        let history: (entries: [MigrationHistoryEntry], unreadable: [String])
        do {
            history = try MigrationHistory.read(in: host.directory)
        } catch {
            throw failure(error.description)
        }
        for line in history.unreadable { FileHandle.standardError.write(Data("livemig: \(line)\n".utf8)) }
        let entries = history.entries.filter { name == nil || $0.guest == name }
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
            return
        }
        guard !entries.isEmpty else {
            print("no migrations in \(MigrationHistory.path(in: host.directory))\(name.map { " for \($0)" } ?? "")")
            return
        }
        let header = ["finished", "guest", "to", "outcome", "rounds", "total (s)", "downtime (ms)", "sent (MiB)", "live (MB/s)", "cap (MB/s)"]
        let rows = entries.map { entry -> [String] in
            let report = entry.report
            return [entry.finishedAt, entry.guest, entry.target ?? "-", report.outcome.rawValue, "\(report.iterations.count)",
                    String(format: "%.3f", report.totalTimeSeconds), String(format: "%.1f", report.downtimeSeconds * 1000),
                    String(format: "%.1f", Double(report.bytesSent) / 1_048_576),
                    HistoryFit.liveBytesPerSecond(report).map { String(format: "%.1f", $0 / 1e6) } ?? "-",
                    entry.rateLimitBytesPerSecond.map { String(format: "%.1f", $0 / 1e6) } ?? "-"]
        }
        print(TextColumns.render([header] + rows, rightAligned: [4, 5, 6, 7, 8, 9]), terminator: "")
    }
}
