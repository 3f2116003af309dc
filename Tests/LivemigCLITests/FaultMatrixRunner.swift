import Foundation
import XCTest

/// Runs fault-matrix cases on two hosts made with network namespaces (A sends, B receives),
/// each case with fresh run directories, a fresh receiver (with the case's fault hook) and a
/// fresh 64 MiB guest that keeps writing memory. See `Support/FaultMatrix.swift` for the rule checked.
final class FaultMatrixRunner {
    let hosts: GuestHosts
    private let nsA: String, nsB: String, addressB: String, interfaceA: String
    private var caseNumber = 0
    /// How long a stall or a cut link lasts: past every timeout the cases run with.
    static let holdSeconds: UInt32 = 6
    /// Short timeouts for the cases (the defaults are minutes; docs/security.md).
    static let timeouts = "handshake=3,idle=4,commit=4,stall=4,ready=4,running=4"

    init(hosts: GuestHosts) throws {
        self.hosts = hosts
        let pair = try hosts.makeNetworkPair()
        (nsA, nsB, addressB) = (pair.a.0, pair.b.0, pair.b.1)
        interfaceA = try XCTUnwrap(hosts.interfaces?.a)
        setenv("LIVEMIG_TIMEOUTS", Self.timeouts, 1)
    }

    deinit { unsetenv("LIVEMIG_TIMEOUTS") }

    private func state(of name: String, in runDirectory: String) -> String? {
        let listed = (try? hosts.livemig(["list", "--run-dir", runDirectory]).stdout) ?? ""
        let line = listed.split(separator: "\n").first { $0.hasPrefix("\(name) ") }
        return line?.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init)
    }

    private func heartbeats(_ name: String, _ runDirectory: String) -> Int {
        let console = (try? hosts.livemig(["guest", "console", name, "--lines", "1000", "--run-dir", runDirectory]).stdout) ?? ""
        return console.split(separator: "\n").filter { $0.contains(" hb ") }.count
    }

    /// The incoming daemon of `runDirectory` stopped by its hook (state T in /proc), if any.
    private func frozenArrivingDaemon(_ runDirectory: String) -> pid_t? {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = pid_t(entry), let raw = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { continue }
            let arguments = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            guard arguments.contains("--incoming"), arguments.contains(runDirectory),
                  let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            if stat[stat.index(close, offsetBy: 2)] == "T" { return pid }
        }
        return nil
    }

    func run(_ fault: Fault, _ phase: FaultPhase) throws -> FaultOutcome {
        caseNumber += 1
        let (hostA, hostB) = (hosts.runDirectory("a\(caseNumber)"), hosts.runDirectory("b\(caseNumber)"))
        let marker = hosts.root.appendingPathComponent("marker-\(caseNumber)").path
        var outcome = FaultOutcome(fault: fault, phase: phase)
        setenv("LIVEMIG_FAULT", fault.hook(at: phase), 1)
        setenv("LIVEMIG_FAULT_MARKER", marker, 1)
        defer {
            unsetenv("LIVEMIG_FAULT")
            unsetenv("LIVEMIG_FAULT_MARKER")
        }
        _ = try hosts.startReceiver(listen: "\(addressB):8002", runDirectory: hostB, namespace: nsB)
        unsetenv("LIVEMIG_FAULT")
        let started = try hosts.livemig(["guest", "start", "web", "--memory", "64M", "--workload", "uniform,workingSet=16MiB,rate=20000",
                                         "--run-dir", hostA], namespace: nsA)
        let sourcePID = try XCTUnwrap(started.stdout.split(separator: " ").drop { $0 != "pid" }.dropFirst().first
            .flatMap { pid_t($0.trimmingCharacters(in: .punctuationCharacters)) }, started.stdout + started.stderr)
        let output = hosts.root.appendingPathComponent("migrate-\(caseNumber).out").path
        // Zero pages whole: the phases are counted in page batches (`pageBatch#17` is a later
        // pass), and a 64 MiB guest's untouched memory would otherwise go as markers, in fewer.
        let migration = try SpawnedProcess.start("/usr/sbin/ip", ["netns", "exec", nsA, try LivemigProcess.binary().path,
                                                                 "migrate", "--live", "web", "\(addressB):8002", "--format", "json",
                                                                 "--verify-memory", "--no-zero-pages", "--run-dir", hostA], outputPath: output)
        if fault.hook(at: phase).hasPrefix("pause-on") {
            if GuestHosts.waitUntil(seconds: 60, { FileManager.default.fileExists(atPath: marker) }) {
                try apply(fault, sourcePID: sourcePID, migration: migration, hostB: hostB)
            } else {
                outcome.note = "phase not reached"
            }
        }
        if fault != .killMigrateClient { _ = migration.wait(seconds: 120) }
        settle(hostA, hostB)
        try judge(&outcome, hostA: hostA, hostB: hostB)
        cleanUp(hostA, hostB)
        return outcome
    }

    /// Applies `fault` while the arriving daemon is frozen at the phase, then lets it go on.
    private func apply(_ fault: Fault, sourcePID: pid_t, migration: SpawnedProcess, hostB: String) throws {
        let arriving = frozenArrivingDaemon(hostB)
        switch fault {
        case .killSourceDaemon: kill(sourcePID, SIGKILL)
        case .killMigrateClient: kill(migration.pid, SIGKILL)
        case .killReceiver: hosts.stopReceivers()
        case .killArrivingDaemon: if let arriving { kill(arriving, SIGKILL) }
        case .cutLink: try GuestHosts.ip(["-n", nsA, "link", "set", interfaceA, "down"])
        case .stallSource: kill(sourcePID, SIGSTOP)
        case .stallDestination, .dropRecord, .corruptRecord: break
        }
        if fault == .stallDestination || fault == .stallSource || fault == .cutLink { sleep(Self.holdSeconds) }
        if fault == .stallSource { kill(sourcePID, SIGCONT) }
        if fault == .cutLink { try GuestHosts.ip(["-n", nsA, "link", "set", interfaceA, "up"]) }
        if let arriving, fault != .killArrivingDaemon { kill(arriving, SIGCONT) }
    }

    /// Waits until neither host shows the guest in passage (migrating, incoming).
    private func settle(_ hostA: String, _ hostB: String) {
        _ = GuestHosts.waitUntil(seconds: 60) {
            let states = [self.state(of: "web", in: hostA), self.state(of: "web", in: hostB)]
            return !states.contains("migrating") && !states.contains("incoming")
        }
    }

    /// The rule: one host, or paused at home with a way back; never two, never none.
    private func judge(_ outcome: inout FaultOutcome, hostA: String, hostB: String) throws {
        let stateA = state(of: "web", in: hostA)
        outcome.runsOnDestination = state(of: "web", in: hostB) == "running"
        outcome.runsOnSource = stateA == "running"
        if stateA == "paused" {
            let resume = try hosts.livemig(["guest", "resume", "web", "--run-dir", hostA], namespace: nsA)
            if outcome.runsOnDestination {
                if resume.status == 0 { outcome.note += "guest resume ran a second copy" }
                _ = try hosts.livemig(["guest", "stop", "web", "--run-dir", hostA])
            } else if resume.status == 0 {
                outcome.runsOnSource = true
                outcome.resumedOnSource = true
            } else {
                outcome.note += "guest resume refused: \(resume.stderr)"
            }
        }
        outcome.doubled = (outcome.runsOnSource && outcome.runsOnDestination) || outcome.note.contains("second copy")
        outcome.lost = !outcome.runsOnSource && !outcome.runsOnDestination
        // A guest daemon is the guest's VMM (as a QEMU process is): killing the one that holds
        // the only copy kills the guest itself. The source's before the destination was cleared
        // (no other copy may run), or the destination's once the source, told "running", let its
        // copy go. Anything else on no host is a guest the migration lost.
        if outcome.lost, state(of: "web", in: hostA) == nil, state(of: "web", in: hostB) == nil,
           (outcome.fault == .killSourceDaemon && !outcome.runsOnDestination)
            || (outcome.fault == .killArrivingDaemon && outcome.phase == .running) {
            outcome.lost = false
            outcome.diedWithItsVMM = true
        }
        // A guest that arrived had its memory checked against the source's digest before "ready".
        let arrivals = (try? String(contentsOfFile: "\(hostB)/incoming.log", encoding: .utf8)) ?? ""
        if outcome.runsOnDestination, !arrivals.contains("web arrived:") || !arrivals.contains("memory verified") {
            outcome.note += "; the memory that arrived was not verified (\(arrivals.suffix(300)))"
            outcome.memoryUnverified = true
        }
        let host = outcome.runsOnSource ? hostA : hostB  // where it runs, when it runs
        if outcome.runsOnSource || outcome.runsOnDestination {
            let before = heartbeats("web", host)
            if !GuestHosts.waitUntil(seconds: 30, { self.heartbeats("web", host) >= before + 3 }) {
                outcome.note += "; the guest does not beat where it runs"
                outcome.lost = true
            }
        }
    }

    private func cleanUp(_ hostA: String, _ hostB: String) {
        for directory in [hostA, hostB] { _ = try? hosts.livemig(["guest", "stop", "web", "--run-dir", directory]) }
        hosts.stopReceivers()
    }
}
