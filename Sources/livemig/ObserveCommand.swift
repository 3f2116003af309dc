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
        var request = ControlRequest(command: .observe)
        request.seconds = seconds
        request.intervalSeconds = interval
        do {
            try request.validate()
            try DirtyLogObservation.validate(seconds: seconds, intervalSeconds: interval)
        } catch {
            throw failure(error.description)
        }
        let file = absolutePath(trace)
        let summary = host.namesXenDomain(name, xenFlag: xen)
            ? try observeXenDomain(file: file) : try observeKVMGuest(file: file)
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

    /// A Xen domain, observed from this process (the hypervisor owns it).
    private func observeXenDomain(file: String) throws -> ObservationSummary {
        do {
            let domain = try XenObservedDomain(host: try XenHost(), name: name)
            return try TraceRecording.record(domain, into: file, seconds: seconds, intervalSeconds: interval)
        } catch {
            throw failure("domain '\(name)': \(error.description)")
        }
    }

    /// A KVM guest, observed by its daemon (which owns the VM).
    private func observeKVMGuest(file: String) throws -> ObservationSummary {
        var request = ControlRequest(command: .observe)
        request.file = file
        request.seconds = seconds
        request.intervalSeconds = interval
        let reply: ControlReply?
        do {
            let connection = try host.directory.connect(to: name)
            try connection.send(request)
            reply = try connection.receive(ControlReply.self)
        } catch {
            throw failure("guest '\(name)' is not running on this host (\(error.description))")
        }
        guard let reply else { throw failure("guest '\(name)': the daemon went away without an answer") }
        if let error = reply.error { throw failure("guest '\(name)': \(error)") }
        guard let summary = reply.observation else { throw failure("guest '\(name)': no observation in the answer") }
        return summary
    }
}
