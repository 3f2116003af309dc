import ArgumentParser
import Foundation
import GuestControl
import MigrationCore

/// `livemig job NAME`: watch and steer a migration under way, as `virsh domjobinfo`,
/// `virsh migrate-setmaxdowntime` / `migrate-setspeed` and QEMU's `query-migrate` /
/// `migrate-set-parameters` do. `--set downtimeLimit=100ms` and `--set bandwidth=2Gbit/s`
/// (or `none`) take effect at the engine's next step; `--cancel` is `migrate --cancel`.
struct JobCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Show, steer or cancel the migration of a guest under way.")
    @Argument(help: "The guest's name.") var name: String
    @Option(name: .customLong("set"), help: "Change the migration under way: downtimeLimit=100ms (a bare number is milliseconds; 1 ms to 2000 s; policies with a downtime limit: qemu, timeout) or bandwidth=2Gbit/s (1 Mbit/s to 1 Tbit/s; none lifts the cap). Repeatable.")
    var sets: [String] = []
    @Flag(help: "Cancel the migration (as migrate --cancel): unless it has committed, the guest runs here.") var cancel = false
    @Option(help: "table or json.") var format: String = "table"
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "A Xen domain (only --cancel: libxenguest's loop takes no new limits).") var xen = false

    func run() throws {
        guard format == "table" || format == "json" else { throw failure("--format \(format): table or json") }
        if cancel {
            guard sets.isEmpty else { throw failure("--cancel takes no --set") }
            return try MigrateCommand.cancelMigration(of: name, host: host, xen: xen)
        }
        if host.namesXenDomain(name, xenFlag: xen) {
            throw failure("job \(name): a Xen domain's migration runs libxenguest's loop, which takes no new limits and reports no progress here; only --cancel")
        }
        var request = ControlRequest(command: .job)
        do {
            try Self.apply(sets, to: &request)
        } catch {
            throw failure(error.description)
        }
        let reply: ControlReply
        do {
            reply = try host.directory.ask(name, request, timeoutSeconds: 30)
        } catch {
            throw failure(error.description)
        }
        if let error = reply.error { throw failure(error) }
        guard let job = reply.job else { throw failure("guest '\(name)': no job in the answer") }
        if format == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(job), as: UTF8.self))
        } else {
            print(Self.table(job), terminator: "")
        }
    }

    /// Each `KEY=VALUE` into the request, checked as the user wrote it.
    static func apply(_ sets: [String], to request: inout ControlRequest) throws(InputBoundError) {
        for setting in sets {
            guard let equals = setting.firstIndex(of: "=") else {
                throw InputBoundError("--set \(setting): not KEY=VALUE (downtimeLimit=100ms, bandwidth=2Gbit/s)")
            }
            let key = String(setting[..<equals]), value = String(setting[setting.index(after: equals)...])
            switch key {
            case "downtimeLimit":
                request.jobDowntimeLimitSeconds = try DurationOption.seconds(value, bareUnit: .milliseconds,
                                                                             bound: OptionBounds.downtimeLimit.named("downtimeLimit"))
            case "bandwidth":
                if value == "none" {
                    request.jobLiftRateLimit = true
                    request.jobRateLimitBytesPerSecond = nil
                } else {
                    request.jobRateLimitBytesPerSecond = try OptionBounds.bandwidth.named("bandwidth").value(value)
                    request.jobLiftRateLimit = nil
                }
            default:
                throw InputBoundError("--set \(key): not a setting of a migration under way (downtimeLimit, bandwidth)")
            }
        }
    }

    static func table(_ job: JobInfo) -> String {
        func megabytes(_ bytes: Double) -> String { String(format: "%.1f MB", bytes / 1e6) }
        var lines = [
            "job        \(job.guest): \(job.phase), round \(job.round), \(String(format: "%.2f", job.elapsedSeconds)) s",
            "sent       \(megabytes(job.transferredBytes)) (\(job.zeroPagesSent) zero pages as markers); \(megabytes(job.remainingBytes)) left in this round",
            "rate       \(String(format: "%.0f", job.throughputBytesPerSecond * 8 / 1e6)) Mbit/s over \(job.streams) stream\(job.streams == 1 ? "" : "s"); cap "
                + (job.rateLimitBytesPerSecond.map { String(format: "%.0f Mbit/s", $0 * 8 / 1e6) } ?? "none"),
            "dirtying   " + (job.dirtyPagesPerSecond.map { String(format: "%.0f pages/s (the last round read)", $0) } ?? "not read yet")
                + (job.throttlePercent > 0 ? "; throttle \(job.throttlePercent) %" : ""),
            "pause now  \(String(format: "%.1f", job.expectedDowntimeSeconds * 1000)) ms (the pending pages at this rate)",
        ]
        lines.append("compression " + (job.compressionRatio.map { String(format: "%.2f x", $0) } ?? "none"))
        return lines.joined(separator: "\n") + "\n"
    }
}
