import Foundation
import MigrationCore
import MigrationExecutor

/// One live migration of the bench firmware between two QEMU processes on this host, over
/// loopback: the destination started with `-incoming`, the source driven over QMP
/// (`migrate-set-capabilities` auto-converge, `migrate-set-parameters` downtime-limit and
/// max-bandwidth, `migrate`, then `query-migrate` until it ends), both serial ports read with
/// the host's clock.
struct QemuPeerMigration {
    static let binary = "qemu-system-x86_64"
    /// `max-bandwidth` for "no cap": far beyond loopback (QEMU's default is a cap of its own,
    /// 128 MiB/s in 7.2).
    static let uncappedBytesPerSecond = 1_000_000_000_000

    let imagePath: String
    let memoryMiB: Int
    let workDirectory: String
    /// `--memory-mix`: the RAM above 2 MiB, loaded into the source before it boots.
    var mixPath: String?

    /// Whether QEMU is installed, and its version line.
    static func version() -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [binary, "--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        // Bounded: a binary that never answers counts as none.
        let deadline = monotonicSeconds() + 10
        while process.isRunning && monotonicSeconds() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            return nil
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init)
    }

    private func launch(_ name: String, serial: SerialTimeline, extra: [String]) throws(HostFailure) -> (Process, QmpSession) {
        let qmpPath = "\(workDirectory)/\(name).qmp"
        unlink(qmpPath)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // On this host's KVM (kvm_pvm) QEMU needs this CPU model: -cpu host fails on MSR 0x10a
        // (KVM-NOTES.md).
        process.arguments = [Self.binary, "-enable-kvm", "-cpu", "qemu64,pni=off", "-m", "\(memoryMiB)", "-bios", imagePath,
                             "-nodefaults", "-no-user-config", "-display", "none",
                             "-serial", "tcp:127.0.0.1:\(serial.port),nodelay=on",
                             "-qmp", "unix:\(qmpPath),server=on,wait=off"] + extra
        let log = "\(workDirectory)/\(name).log"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        do {
            try process.run()
        } catch {
            throw HostFailure("cannot start \(Self.binary): \(error.localizedDescription) (Debian: apt-get install qemu-system-x86)")
        }
        do {
            try serial.startReading(timeoutSeconds: 30)
            return (process, try QmpSession(path: qmpPath, name: "QEMU \(name)"))
        } catch {
            stop(process)
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw HostFailure("\(error) \(output.suffix(500))")
        }
    }

    private func stop(_ process: Process) {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = monotonicSeconds() + 10
        while process.isRunning && monotonicSeconds() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// Runs `cell` once: `readySeconds` of heartbeats first, then the migration, timed out after
    /// `timeoutSeconds` (cancelled, and reported as not converged).
    func run(_ cell: PeerBenchCell, number: Int, readySeconds: Double, timeoutSeconds: Double) throws -> PeerBenchRun {
        let migrationPort = try ListeningSocket(host: "127.0.0.1", port: 0).port  // closed again: free for QEMU
        let sourceSerial = try SerialTimeline()
        let destinationSerial = try SerialTimeline()
        let (destination, destinationQMP) = try launch("destination", serial: destinationSerial,
                                                       extra: ["-incoming", "tcp:127.0.0.1:\(migrationPort)"])
        defer { stop(destination) }
        // QEMU's generic loader writes the file into guest RAM at reset, before the firmware runs.
        let mix = mixPath.map { ["-device", "loader,file=\($0),addr=0x\(String(BenchMemoryMix.firstPage * 4096, radix: 16)),force-raw=on"] } ?? []
        let (source, sourceQMP) = try launch("source", serial: sourceSerial, extra: mix)
        defer { stop(source) }
        try PeerBenchmark.waitForHeartbeats(seconds: readySeconds, what: "the QEMU guest") { sourceSerial.lines.map(\.text) }

        let postcopy = cell.postcopyAfterRounds != nil
        if postcopy {
            // Post-copy needs the capability on both sides (QEMU's docs/devel/migration/postcopy.rst).
            try destinationQMP.execute("migrate-set-capabilities", ["capabilities": .list([.object([
                "capability": .string("postcopy-ram"), "state": .bool(true)])])])
        }
        try sourceQMP.execute("migrate-set-capabilities", ["capabilities": .list([.object([
            "capability": .string(postcopy ? "postcopy-ram" : "auto-converge"), "state": .bool(true)])])])
        if let streams = cell.streams {
            // Multifd on both sides, the same channels and compression (QEMU's docs/devel/migration/features).
            for qmp in [destinationQMP, sourceQMP] {
                try qmp.execute("migrate-set-capabilities", ["capabilities": .list([.object([
                    "capability": .string("multifd"), "state": .bool(true)])])])
                try qmp.execute("migrate-set-parameters", ["multifd-channels": .int(streams),
                                                           "multifd-compression": .string(cell.compression ?? "none")])
            }
        }
        let bandwidth = cell.capBytesPerSecond.map { Int($0) } ?? Self.uncappedBytesPerSecond
        try sourceQMP.execute("migrate-set-parameters", ["downtime-limit": .int(Int((cell.downtimeLimitSeconds * 1000).rounded())),
                                                         "max-bandwidth": .int(bandwidth)])
        try sourceQMP.execute("migrate", ["uri": .string("tcp:127.0.0.1:\(migrationPort)")])
        let deadline = monotonicSeconds() + timeoutSeconds
        var info = QmpSession.MigrationInfo()
        var maxThrottle = 0
        var handedOver = false
        while true {
            info = try sourceQMP.execute("query-migrate")
            maxThrottle = max(maxThrottle, info.cpuThrottlePercentage ?? 0)
            // The dirty-sync count passes N + 1 when round N has ended (the sync that starts the next).
            if let rounds = cell.postcopyAfterRounds, !handedOver, info.status == "active", (info.ram?.dirtySyncCount ?? 0) > rounds {
                try sourceQMP.execute("migrate-start-postcopy")
                handedOver = true
            }
            if ["completed", "failed", "cancelled"].contains(info.status ?? "") { break }
            if monotonicSeconds() > deadline {
                _ = try? sourceQMP.execute("migrate_cancel")
                break
            }
            usleep(20_000)
        }
        let converged = info.status == "completed"
        var gap: Double?
        if converged {
            usleep(200_000)
            gap = PeerBenchmark.guestGap(source: sourceSerial.lines.map { ($0.seconds, $0.text) },
                                         destination: { destinationSerial.lines.map { ($0.seconds, $0.text) } })
        }
        return PeerBenchRun(tool: "qemu", cell: cell.label, run: number,
                            totalSeconds: Double(info.totalTimeMilliseconds ?? 0) / 1000,
                            downtimeSeconds: Double(info.downtimeMilliseconds ?? 0) / 1000, guestGapSeconds: gap,
                            converged: converged, outcome: Self.outcome(of: info), maxThrottlePercent: maxThrottle,
                            bytesSent: info.ram?.transferred ?? 0, rounds: info.ram?.dirtySyncCount ?? 0)
    }

    /// QEMU's status, with its `error-desc` when it failed (why a run of a cell is missing).
    static func outcome(of info: QmpSession.MigrationInfo) -> String {
        guard let status = info.status else { return "unknown" }
        guard status == "failed" else { return status }
        return "failed: \(info.errorDescription ?? "QEMU gave no error-desc")"
    }
}
