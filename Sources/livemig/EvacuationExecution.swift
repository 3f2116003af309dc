import Foundation
import GuestControl
import MigrationCore
import MigrationExecutor
import MigrationScenario
import MigrationSimulation
import MigrationSweep

/// `plan evacuate --execute`: runs the chosen schedule for real, one `livemig migrate` per
/// guest, at most the plan's number at once, in the plan's order, each to its planned
/// destination's relocation address; the next starts the moment one ends. Each migration keeps
/// its own guarantees (a failure or cancel before the commit leaves that guest running here),
/// and a migration past `--migration-timeout` is cancelled with `migrate --cancel`. After an
/// outcome nobody can know here (the source left paused after the clearance may have gone, or
/// a migration that would not stop), no further guest starts: that needs an operator first.
/// Returns the run as measured: each guest's start and end on this host's monotonic clock,
/// and the outcome, downtime, rounds and bytes from its own report.
struct EvacuationExecution {
    let host: EvacuationHostFile
    let plan: EvacuationEvaluation
    let runDirectory: String?
    /// `--tls` / `--tls-dir DIR`, passed on to every `migrate`.
    let tlsArguments: [String]
    let migrationTimeoutSeconds: Double
    /// What happened, one line per event, as it happens.
    let log: (String) -> Void

    /// How long a cancelled migration may take to stop before the evacuation stops waiting
    /// for it (it goes on in its guest's daemon; nothing is lost by not waiting).
    static let cancelGraceSeconds = 120.0
    /// How long the guest's daemon may take to answer a cancel.
    static let cancelAnswerSeconds = 10.0

    private struct Running {
        var guest: Int
        var process: Process
        var startedAt: Double
        var cancelled = false
    }

    /// Where `migrate`'s report and errors go for `guest`.
    private static func outputPath(_ scratch: String, _ guest: Int) -> String { "\(scratch)/\(guest).json" }
    private static func errorPath(_ scratch: String, _ guest: Int) -> String { "\(scratch)/\(guest).err" }

    /// Policy keys the simulator takes and `livemig migrate` does not: a plan that sets them
    /// cannot be run as it was planned.
    static let simulatorOnlyPolicyKeys: [(key: String, isSet: @Sendable (PolicyConfiguration) -> Bool)] = [
        ("policy.maxIterations", { $0.maxIterations != nil }), ("policy.maxFactor", { $0.maxFactor != nil }),
        ("policy.targetDirtyPages", { $0.targetDirtyPages != nil }), ("policy.fallbackDirtyRatio", { $0.fallbackDirtyRatio != nil }),
    ]

    /// What `--execute` needs that does not depend on the plan, checked before planning: every
    /// guest runs here under livemig, its policy is one `migrate` can run, and every address
    /// the host file gives parses.
    static func checkHost(_ host: EvacuationHostFile, runDirectory: String?) throws(HostFailure) {
        let names = Set(RunDirectory(path: runDirectory).guestNames())
        let missing = host.setting.guests.map(\.name).filter { !names.contains($0) }
        if !missing.isEmpty {
            throw HostFailure("--execute: no livemig guest named \(missing.joined(separator: ", ")) runs on this host (livemig list\(runDirectory.map { " --run-dir \($0)" } ?? ""))")
        }
        for guest in host.setting.guests {
            if let key = Self.simulatorOnlyPolicyKeys.first(where: { $0.isSet(guest.config.policy) })?.key {
                throw HostFailure("--execute: guests \(guest.name): \(key) is a simulator setting livemig migrate cannot take; drop it to run the plan for real")
            }
        }
        for (destination, address) in zip(host.setting.destinations, host.addresses) {
            guard let address else { continue }
            do {
                _ = try Endpoint(parsing: address)
            } catch {
                throw HostFailure("--execute: destinations.\(destination.name).address: \(address): \(error.description)")
            }
        }
    }

    /// What the plan adds, checked before any guest moves: every destination it uses has an address.
    func checkPlan() throws(HostFailure) {
        for destination in Set(plan.schedule.destinations) where host.addresses[destination] == nil {
            throw HostFailure("--execute: destinations.\(host.setting.destinations[destination].name).address is needed (HOST:PORT of its livemig receive)")
        }
    }

    /// The `migrate` arguments for one guest: its scenario's policy, limits, rate cap and
    /// whether the cap holds in the paused round.
    func arguments(for guest: Int) -> [String] {
        let config = host.setting.guests[guest].config
        let policy = config.policy
        var arguments = ["migrate"] + (config.engine.live ? ["--live"] : [])
            + [host.setting.guests[guest].name, host.addresses[plan.schedule.destinations[guest]]!, "--policy", policy.name.rawValue, "--format", "json"]
        if let limit = policy.downtimeLimitSeconds { arguments += ["--downtime-limit", String(format: "%.3f", limit * 1000)] }
        if let timeout = policy.timeoutSeconds { arguments += ["--timeout", String(format: "%.3f", timeout)] }
        if policy.autoConverge { arguments.append("--auto-converge") }
        if let limit = policy.dirtyLimitPagesPerSecond { arguments += ["--dirty-limit", String(format: "%.0f", limit)] }
        if let shrinks = policy.shrinksPause { arguments += ["--set", "policy.shrinkPause=\(shrinks)"] }
        if let rounds = policy.fallbackRounds { arguments += ["--fallback-rounds", String(rounds)] }
        if let rate = config.engine.rateLimitBytesPerSecond { arguments += ["--bandwidth", String(format: "%.0fB/s", rate)] }
        if config.engine.capsPausedRound { arguments.append("--cap-paused-round") }
        if let runDirectory { arguments += ["--run-dir", runDirectory] }
        return arguments + tlsArguments
    }

    /// Runs the plan; `check()` must have passed first.
    func run() throws(HostFailure) -> EvacuationScheduleSummary {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("livemig-evacuate-\(getpid())-\(UUID().uuidString.prefix(8))").path
        do {
            try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        } catch {
            throw HostFailure("--execute: cannot make \(scratch): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let start = monotonicSeconds()
        var pending = plan.schedule.order[...]
        var running: [Running] = []
        var rows: [EvacuationGuestRow] = []
        var held: String?
        while !pending.isEmpty || !running.isEmpty {
            if let held {
                for guest in pending { rows.append(row(guest, from: monotonicSeconds() - start, to: monotonicSeconds() - start, outcome: "not started: \(held)")) }
                pending = []
            }
            while running.count < plan.schedule.concurrency, let guest = pending.first {
                pending = pending.dropFirst()
                do {
                    running.append(try launch(guest, scratch: scratch))
                } catch {
                    // The guest was never asked to move: it runs here as before.
                    log("\(error.description)")
                    rows.append(row(guest, from: monotonicSeconds() - start, to: monotonicSeconds() - start, outcome: "not started: \(error.description)"))
                    continue
                }
                log(String(format: "%7.2f s  start %@ -> %@", monotonicSeconds() - start, host.setting.guests[guest].name,
                           host.setting.destinations[plan.schedule.destinations[guest]].name))
            }
            usleep(20_000)
            var index = 0
            while index < running.count {
                var entry = running[index]
                let elapsed = monotonicSeconds() - entry.startedAt
                if !entry.process.isRunning {
                    let row = finish(entry, start: start, scratch: scratch)
                    log(String(format: "%7.2f s  end   %@: %@, downtime %.1f ms", row.endSeconds, row.name, row.outcome, row.downtimeSeconds * 1000))
                    if row.sourceLeftPaused == true {
                        held = "\(row.name)'s outcome is unknown (left paused here); check the destination, then livemig guest resume \(row.name) --force if it does not run there"
                    } else if row.outcomeUnknown == true {
                        // The migration runs in the guest's daemon: without a report it may still be going.
                        held = "the migration of \(row.name) ended without a report (livemig list shows where it is)"
                    }
                    rows.append(row)
                    running.remove(at: index)
                    continue
                }
                if !entry.cancelled && elapsed > migrationTimeoutSeconds {
                    entry.cancelled = true
                    running[index] = entry
                    log("migration of \(host.setting.guests[entry.guest].name) past --migration-timeout \(migrationTimeoutSeconds) s: cancelling")
                    cancel(entry.guest)
                } else if entry.cancelled && elapsed > migrationTimeoutSeconds + Self.cancelGraceSeconds {
                    let name = host.setting.guests[entry.guest].name
                    log("migration of \(name) did not stop \(Self.cancelGraceSeconds) s after its cancel; no longer waiting (its daemon still has it: livemig list)")
                    var stuck = row(entry.guest, from: entry.startedAt - start, to: monotonicSeconds() - start, outcome: "unknown")
                    stuck.reason = "still migrating after its cancel"
                    stuck.outcomeUnknown = true
                    rows.append(stuck)
                    // It may still be moving: starting another would exceed the plan's number at once.
                    held = "the migration of \(name) did not stop after its cancel"
                    running.remove(at: index)
                    continue
                }
                index += 1
            }
        }
        return EvacuationScheduleSummary(
            name: "measured", concurrency: plan.schedule.concurrency, order: plan.schedule.order.map { host.setting.guests[$0].name },
            guests: rows.sorted { $0.startSeconds < $1.startSeconds }, downtimeLimitSeconds: host.setting.downtimeLimitSeconds)
    }

    private func launch(_ guest: Int, scratch: String) throws(HostFailure) -> Running {
        let name = host.setting.guests[guest].name
        let outputPath = Self.outputPath(scratch, guest), errorPath = Self.errorPath(scratch, guest)
        guard FileManager.default.createFile(atPath: outputPath, contents: nil),
              FileManager.default.createFile(atPath: errorPath, contents: nil) else {
            throw HostFailure("--execute: cannot write in \(scratch)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        process.arguments = arguments(for: guest)
        process.standardInput = FileHandle.nullDevice
        do {
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errorPath))
            try process.run()
        } catch {
            throw HostFailure("--execute: cannot start the migration of \(name): \(error.localizedDescription)")
        }
        return Running(guest: guest, process: process, startedAt: monotonicSeconds())
    }

    /// A row from a finished `migrate`: its report (printed for an aborted migration too, which
    /// exits non-zero), or, without one, an unknown outcome: the migration runs in the guest's
    /// daemon, so a `migrate` that died says nothing of where the guest is.
    private func finish(_ entry: Running, start: Double, scratch: String) -> EvacuationGuestRow {
        let end = monotonicSeconds() - start
        var row = row(entry.guest, from: entry.startedAt - start, to: end, outcome: "unknown")
        let output = (try? Data(contentsOf: URL(fileURLWithPath: Self.outputPath(scratch, entry.guest)))) ?? Data()
        if let report = try? JSONDecoder().decode(MigrationReport.self, from: output) {
            row.outcome = report.outcome.rawValue
            row.reason = report.reason.isEmpty ? nil : report.reason
            row.sourceLeftPaused = report.sourceLeftPaused
            row.downtimeSeconds = report.downtimeSeconds
            row.pausedAtSeconds = report.downtimeSeconds > 0 ? max(row.startSeconds, end - report.downtimeSeconds) : nil
            row.iterations = report.iterations.count
            row.bytesSent = report.bytesSent
        } else {
            let error = (try? String(contentsOfFile: Self.errorPath(scratch, entry.guest), encoding: .utf8)) ?? ""
            row.reason = error.split(whereSeparator: \.isNewline).last.map(String.init) ?? "exit status \(entry.process.terminationStatus)"
            row.outcomeUnknown = true
        }
        return row
    }

    /// A guest's row with no report yet (how a migration that did not finish is shown).
    private func row(_ guest: Int, from startSeconds: Double, to endSeconds: Double, outcome: String) -> EvacuationGuestRow {
        EvacuationGuestRow(name: host.setting.guests[guest].name, destination: host.setting.destinations[plan.schedule.destinations[guest]].name,
                           startSeconds: startSeconds, pausedAtSeconds: nil, endSeconds: endSeconds, downtimeSeconds: 0, outcome: outcome,
                           iterations: 0, bytesSent: 0, memoryBytes: host.setting.guests[guest].config.guestMemoryBytes)
    }

    /// Cancels the migration in the guest's daemon, as `migrate --cancel` does (before the
    /// commit the guest keeps running here; after it the cancel has no effect), waiting at most
    /// `cancelAnswerSeconds` for its answer.
    private func cancel(_ guest: Int) {
        let name = host.setting.guests[guest].name
        do {
            _ = try RunDirectory(path: runDirectory).ask(name, ControlRequest(command: .cancel), timeoutSeconds: Self.cancelAnswerSeconds)
        } catch {
            log("cancelling the migration of \(name): \(error.description)")
        }
    }
}
