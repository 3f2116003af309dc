import ArgumentParser
import Dispatch
import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor
import MigrationReporting
import XenBackend

extension MigrateCommand {
    /// A Xen domain, migrated from this process with libxenguest (the engine's policy
    /// answering its pre-copy questions), to `xl migrate-receive` or `livemig receive`.
    /// TLS and `--bandwidth` go through a relay (libxenguest writes to a plain descriptor);
    /// Ctrl-C, SIGTERM and `migrate --cancel NAME` cancel before the commit; `--max-downtime`
    /// cancels if the domain has been suspended that long without the permission to go.
    func migrateXenDomain(_ request: ControlRequest, to target: String, format: ReportFormat) throws {
        signal(SIGPIPE, SIG_IGN)
        let configuration = request.policyConfiguration
        if configuration.autoConverge || configuration.dirtyLimitPagesPerSecond != nil {
            throw failure("--auto-converge and --dirty-limit (or policy.autoConverge, policy.dirtyLimit): not available for Xen domains (Xen cannot throttle a PV guest's vCPUs)")
        }
        let live = request.live ?? self.live
        if verifyMemory { throw failure("--verify-memory: not available for Xen domains (xl's stream has no place for a digest; libxenguest checks its own records)") }
        if noZeroPages { throw failure("--no-zero-pages: not available for Xen domains (libxenguest's stream sends every page whole already)") }
        if let compression = request.compression, compression != "none" {
            throw failure("--compress \(compression): not available for Xen domains (libxenguest writes its own stream)")
        }
        if let streams = request.streams, streams > 1 {
            throw failure("--streams \(streams): not available for Xen domains (libxenguest writes the domain into one stream)")
        }
        let cancellation = MigrationCancellation()
        let report: MigrationReport
        do {
            let timeouts = try TimeoutsFromEnvironment.sender(defaults: XenMigrationSender.defaultTimeouts)
            let xenHost = try XenHost()
            let registration = try XenMigrationRegistration(name: name, in: host.directory)
            let interrupts = Self.cancelOnSignals(cancellation)
            defer { withExtendedLifetime(registration) { interrupts.forEach { $0.cancel() } } }
            let endpoint = try Endpoint(parsing: target)
            let socket = try BlockingSocket.connect(to: endpoint)
            defer { socket.close() }
            if let tls = request.tlsConfiguration {
                _ = try socket.startTLS(tls, role: .client, expectedPeerName: endpoint.host, handshakeTimeoutSeconds: timeouts.handshakeSeconds)
            }
            if request.tlsConfiguration != nil || request.rateLimitBytesPerSecond != nil {
                // libxenguest writes to a plain descriptor: a relay carries it through TLS and
                // holds it to the cap.
                let relay = try TLSRelay(socket: socket, rateCapBytesPerSecond: request.rateLimitBytesPerSecond,
                                         idleTimeoutSeconds: XenRelay.idleTimeoutSeconds)
                defer { XenRelay.finish(relay) }
                report = try XenMigrationSender.migrate(domain: name, on: xenHost, over: relay.plainEnd, policy: configuration, live: live,
                                                        timeouts: timeouts, cancellation: cancellation,
                                                        maxDowntimeSeconds: request.maxDowntimeSeconds, bytesSent: { relay.bytesSentToPeer })
            } else {
                report = try XenMigrationSender.migrate(domain: name, on: xenHost, over: socket, policy: configuration, live: live,
                                                        timeouts: timeouts, cancellation: cancellation,
                                                        maxDowntimeSeconds: request.maxDowntimeSeconds)
            }
            // Left suspended after an unknown outcome (the commit rules' verdict, in the report),
            // or left under the away name because renaming it back failed: recorded, for
            // `guest resume --force`.
            if report.sourceLeftPaused == true
                || (report.outcome == .aborted && (try? xenHost.domainID(named: XenLeftSuspendedDomain.awayName(name))) != nil) {
                registration.markLeftSuspended()
            }
        } catch {
            throw failure("\(name): \(error.description)")
        }
        let entry = MigrationHistoryEntry(finishedAt: ISO8601DateFormatter().string(from: Date()), guest: name, command: "migrate",
                                          target: target, rateLimitBytesPerSecond: request.rateLimitBytesPerSecond,
                                          workload: "Xen domain", report: report)
        do {
            try MigrationHistory.append(entry, in: host.directory)
        } catch {
            FileHandle.standardError.write(Data("livemig: \(name): the migration was not added to the history: \(error.description)\n".utf8))
        }
        try printXenReport(report, to: target, format: format)
    }

    /// SIGINT, SIGTERM and SIGHUP cancel the migration (before the commit; after it they are
    /// refused, with a line saying so) instead of killing a process that may hold the domain
    /// suspended.
    private static func cancelOnSignals(_ cancellation: MigrationCancellation) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM, SIGHUP].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                let name = number == SIGINT ? "SIGINT" : number == SIGTERM ? "SIGTERM" : "SIGHUP"
                if !cancellation.cancel(reason: "interrupted (\(name))") {
                    // Never trap here (a SIGHUP's terminal may be gone): the migration must finish.
                    try? FileHandle.standardError.write(contentsOf: Data("livemig: \(name) ignored: the migration has committed (the destination was cleared to run the domain)\n".utf8))
                }
            }
            source.resume()
            return source
        }
    }

    private func printXenReport(_ report: MigrationReport, to target: String, format: ReportFormat) throws {
        print(ReportRendering.render(report, as: format, title: format == .table ? "\(name) -> \(target) (Xen)" : nil), terminator: "")
        if report.outcome == .aborted { throw ExitCode.failure }
    }
}
