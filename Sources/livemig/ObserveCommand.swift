import ArgumentParser
import Foundation
import GuestControl
import KVMBackend
import MigrationExecutor
import XenBackend

/// `livemig observe GUEST --seconds N --trace FILE`: records what a running guest dirties,
/// without migrating it, as a trace the simulator replays (`workload: {kind: trace, file: …}`),
/// so that a migration can be predicted before it is run.
struct ObserveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "observe", abstract: "Trace what a running guest dirties (for `simulate` to replay).",
        discussion: "Turns dirty logging on, reads and clears the dirty log every --interval, writes each read as a record of a trace (docs/trace-format.md), and turns dirty logging off again. A KVM guest livemig runs, or on a Xen host a domain (log-dirty mode).")

    @Argument(help: "The guest's name.") var name: String
    @Option(help: "How long to observe, in seconds.") var seconds: Double = 10
    @Option(help: "How often to read the dirty log, in seconds.") var interval: Double = 0.1
    @Option(help: "The trace file to write.") var trace: String
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "Observe a Xen domain (the default on a Xen host for a name livemig does not run); an error elsewhere.") var xen = false

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        let file = absolutePath(trace)
        let summary = try GuestObservation.record(name, host: host, xen: xen, into: file, seconds: seconds, intervalSeconds: interval)
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
            return
        }
        let mib = Double(summary.pageSizeBytes) / 1_048_576
        print("""
            \(name): \(summary.reads) reads over \(String(format: "%.2f", summary.seconds)) s -> \(summary.file)
            dirty rate   \(String(format: "%.0f", summary.meanPagesPerSecond)) pages/s mean (\(String(format: "%.1f", summary.meanPagesPerSecond * mib)) MiB/s), \(String(format: "%.0f", summary.peakPagesPerSecond)) peak
            pages dirty  \(summary.distinctPages) of \(summary.guestPages) at least once
            """)
    }
}
