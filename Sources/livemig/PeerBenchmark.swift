import ArgumentParser
import Foundation
import KVMBackend
import MigrationCalibration
import MigrationCore
import MigrationExecutor

/// `livemig bench migrate --peer qemu`: the same firmware image (BenchFirmware) migrated by
/// QEMU and by livemig on this host, runs alternated, each cell measured alike for both: the
/// tool's own total time and downtime, and the guest-visible gap between its last heartbeat
/// line on the source and its first on the destination (a heartbeat every millisecond).
/// Prints a table with the ratios per cell against the issue's goals and writes every run
/// to a JSON file.
struct PeerBenchmark {
    var cells: [PeerBenchCell]
    var runs: Int
    var memoryMiB: Int
    var outputPath: String?
    /// False with `--livemig-only`: livemig's runs alone, for the share within the limit.
    var withQemu = true
    /// livemig sends zero pages as markers (false: `--no-zero-pages`, every page whole).
    var zeroPages = true
    /// `--memory-mix`: both tools' guests hold this mix in their RAM above 2 MiB from the start
    /// (livemig's written by the host, QEMU's by its `-device loader`), instead of the one word a
    /// page the firmware writes at boot.
    var mix: BenchMemoryMix?
    var readySeconds = 1.0
    var timeoutSeconds = 180.0

    /// Goals (issue 11): livemig's downtime at most half QEMU's guest-visible gap; total time at
    /// most 0.7 x QEMU's with no cap and 1.0 x with one; converging wherever QEMU converges.
    static let downtimeGoalRatio = 0.5
    static let uncappedTotalGoalRatio = 0.7
    static let cappedTotalGoalRatio = 1.0

    func run() throws {
        let qemuVersion: String
        if withQemu {
            guard let version = QemuPeerMigration.version() else {
                throw ValidationError("--peer qemu: \(QemuPeerMigration.binary) is not installed (Debian: apt-get install qemu-system-x86)")
            }
            qemuVersion = version
        } else {
            qemuVersion = "not run (--livemig-only)"
        }
        let probe = try KVMGuest.create(name: "bench-tsc", memoryBytes: 4 << 20, workload: .idle)
        let tscHz = probe.tscHz
        probe.destroy()
        let workDirectory = NSTemporaryDirectory() + "livemig-peer-\(getpid())"
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: workDirectory) }
        print("livemig bench migrate --peer qemu: \(memoryMiB) MiB firmware guest over 127.0.0.1, \(qemuVersion), TSC \(tscHz / 1_000_000) MHz")
        print("  livemig sends zero pages \(zeroPages ? "as markers" : "whole (--no-zero-pages)"); QEMU detects them as it always does")
        if let mix { print("  both guests' RAM above 2 MiB: \(mix)" + (withQemu ? " (QEMU's through -device loader)" : "")) }
        var mixPath: String?
        print("  each cell: \(runs) run(s) \(withQemu ? "per tool, alternated; auto-converge on for both (off where post-copy hands over)" : "of livemig alone, auto-converge on (off where post-copy hands over)"); heartbeat every 1 ms")
        var results: [PeerBenchRun] = []
        for cell in cells {
            var firmware = cell.load.firmware
            firmware.fillsRAM = mix == nil
            let image = try firmware.image(tscHz: tscHz, memoryBytes: memoryMiB << 20)
            let imagePath = "\(workDirectory)/bench.img"
            FileManager.default.createFile(atPath: imagePath, contents: Data(image))
            // RAM ends where the image starts (FirmwareLayout): the mix stops there.
            let ramEndPage = ((memoryMiB << 20) - image.count) / 4096
            // Only QEMU reads the file (a buffer and a file of the guest's size).
            if let mix, withQemu, mixPath == nil {
                let path = "\(workDirectory)/mix.bin"
                guard FileManager.default.createFile(atPath: path, contents: mix.bytes(upTo: ramEndPage)) else {
                    throw ValidationError("cannot write the memory mix for QEMU's loader to \(path)")
                }
                mixPath = path
            }
            let qemu = QemuPeerMigration(imagePath: imagePath, memoryMiB: memoryMiB, workDirectory: workDirectory, mixPath: mixPath)
            let livemig = LivemigPeerMigration(image: image, memoryMiB: memoryMiB, zeroPages: zeroPages, mix: mix.map { ($0, ramEndPage) })
            for number in 1 ... runs {
                // Alternate which tool goes first, so neither always meets the warmer machine.
                let order: [(String, () throws -> PeerBenchRun)] = [
                    ("qemu", { try qemu.run(cell, number: number, readySeconds: readySeconds, timeoutSeconds: timeoutSeconds) }),
                    ("livemig", { try livemig.run(cell, number: number, readySeconds: readySeconds, timeoutSeconds: timeoutSeconds) }),
                ]
                for (tool, body) in (number % 2 == 1 ? order : order.reversed()) where withQemu || tool == "livemig" {
                    let result: PeerBenchRun
                    do {
                        result = try body()
                    } catch {
                        result = PeerBenchRun(tool: tool, cell: cell.label, run: number, totalSeconds: 0, downtimeSeconds: 0,
                                              guestGapSeconds: nil, converged: false, outcome: "error: \(error)",
                                              maxThrottlePercent: 0, bytesSent: 0, rounds: 0, pausePhases: nil)
                    }
                    print("    \(Self.describe(result))")
                    results.append(result)
                }
            }
            print(Self.summaryLine(cell, results.filter { $0.cell == cell.label }))
        }
        if let outputPath {
            let document = PeerBenchDocument(qemu: qemuVersion, memoryMiB: memoryMiB, tscHz: Double(tscHz), runs: results,
                                             summary: cells.map { cell in Self.summary(cell, results.filter { $0.cell == cell.label }) },
                                             livemigZeroPages: zeroPages, memoryMix: mix?.description)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(document).write(to: URL(fileURLWithPath: outputPath))
            print("wrote \(outputPath)")
        }
    }

    /// Waits until the guest has printed "bench up" and then `seconds` worth of heartbeats
    /// (readiness, not a fixed sleep: the 1 GiB fill at boot takes seconds under emulation).
    static func waitForHeartbeats(seconds: Double, what: String, lines: () -> [String]) throws(HostFailure) {
        let deadline = monotonicSeconds() + 120
        while monotonicSeconds() < deadline {
            let printed = lines()
            if let up = printed.firstIndex(of: "bench up"), printed.count - up > Int(seconds * 1000) { return }
            usleep(20_000)
        }
        throw HostFailure("\(what) printed no \(seconds) s of heartbeats within 120 s: \(lines().prefix(3))")
    }

    /// From the source's last line to the destination's first line after it, waiting up to 10 s
    /// for that line.
    static func guestGap(source: [(Double, String)], destination: () -> [(Double, String)]) -> Double? {
        guard let last = source.last?.0 else { return nil }
        let deadline = monotonicSeconds() + 10
        while monotonicSeconds() < deadline {
            if let first = destination().first(where: { $0.0 > last }) { return first.0 - last }
            usleep(10_000)
        }
        return nil
    }

    private static func milliseconds(_ seconds: Double?) -> String {
        seconds.map { String(format: "%.1f ms", $0 * 1000) } ?? "-"
    }

    static func describe(_ run: PeerBenchRun) -> String {
        let outcome = run.converged ? "" : " [\(run.outcome)]"
        var line = String(format: "%@ #%d: total %.2f s, downtime %@, guest gap %@, throttle %d %%, %d rounds, %.0f MiB%@",
                          run.tool, run.run, run.totalSeconds, milliseconds(run.downtimeSeconds), milliseconds(run.guestGapSeconds),
                          run.maxThrottlePercent, run.rounds, Double(run.bytesSent) / 1_048_576, outcome)
        if let phases = run.pausePhases {
            line += String(format: "\n      of which: dirty-log read %.1f, pages %.1f, device state %.1f, wait for ready %.1f, cleared to running %.1f ms",
                           phases.finalDirtyLogReadSeconds * 1000, phases.finalPagesSeconds * 1000, phases.deviceStateSeconds * 1000,
                           phases.destinationReadySeconds * 1000, phases.clearedToRunningSeconds * 1000)
            if let destination = phases.destination {
                line += String(format: "; there: state load %.2f, check %.2f, unpause %.2f ms", destination.stateLoadSeconds * 1000,
                               destination.checkSeconds * 1000, destination.unpauseSeconds * 1000)
            }
        }
        return line
    }

    static func summary(_ cell: PeerBenchCell, _ runs: [PeerBenchRun]) -> PeerBenchSummary {
        let qemu = runs.filter { $0.tool == "qemu" }
        let livemig = runs.filter { $0.tool == "livemig" }
        let qemuGap = Median.of(qemu.filter(\.converged).compactMap(\.guestGapSeconds))
        let qemuTotal = Median.of(qemu.filter(\.converged).map(\.totalSeconds))
        let ours = livemig.filter(\.converged)
        let downtimeRatio = qemuGap.flatMap { gap in Median.of(ours.map(\.downtimeSeconds)).map { $0 / gap } }
        let gapRatio = qemuGap.flatMap { gap in Median.of(ours.compactMap(\.guestGapSeconds)).map { $0 / gap } }
        let totalRatio = qemuTotal.flatMap { total in Median.of(ours.map(\.totalSeconds)).map { $0 / total } }
        let totalGoal = goal(cell)
        // Judged only where QEMU ran: with `--livemig-only` there is nothing to compare with.
        let convergenceMet = qemu.isEmpty ? nil : !(qemu.contains(where: \.converged) && livemig.contains { !$0.converged })
        let withinShare = livemig.isEmpty ? nil : Double(withinLimit(livemig, of: cell)) / Double(livemig.count)
        return PeerBenchSummary(cell: cell.label, qemuConverged: qemu.filter(\.converged).count, livemigConverged: ours.count,
                                runsPerTool: max(qemu.count, livemig.count),
                                qemuGuestGapSeconds: qemuGap, qemuDowntimeSeconds: Median.of(qemu.filter(\.converged).map(\.downtimeSeconds)),
                                livemigDowntimeSeconds: Median.of(ours.map(\.downtimeSeconds)),
                                livemigGuestGapSeconds: Median.of(ours.compactMap(\.guestGapSeconds)),
                                qemuTotalSeconds: qemuTotal, livemigTotalSeconds: Median.of(ours.map(\.totalSeconds)),
                                downtimeOverQemuGap: downtimeRatio, gapOverQemuGap: gapRatio, totalOverQemuTotal: totalRatio,
                                downtimeGoalMet: downtimeRatio.map { $0 <= downtimeGoalRatio },
                                totalGoalMet: totalRatio.map { $0 <= totalGoal }, convergenceGoalMet: convergenceMet,
                                qemuWithinLimit: withinLimit(qemu, of: cell), livemigWithinLimit: withinLimit(livemig, of: cell),
                                livemigWithinLimitGoalMet: cell.downtimeLimitSeconds <= 0.03 ? withinShare.map { $0 >= withinLimitGoalShare } : nil)
    }

    /// The total-time goal of a cell: post-copy's total at most QEMU's (issue 12); pre-copy's
    /// 0.7 x with no cap and 1.0 x with one (issue 11).
    static func goal(_ cell: PeerBenchCell) -> Double {
        if cell.postcopyAfterRounds != nil { return postcopyTotalGoalRatio }
        return cell.capBytesPerSecond == nil ? uncappedTotalGoalRatio : cappedTotalGoalRatio
    }

    static let postcopyTotalGoalRatio = 1.0

    /// Converged runs whose own downtime figure was at or under the cell's limit.
    static func withinLimit(_ runs: [PeerBenchRun], of cell: PeerBenchCell) -> Int {
        runs.filter { $0.converged && $0.downtimeSeconds <= cell.downtimeLimitSeconds }.count
    }

    /// Goal (issue 11): livemig's downtime at or under a 30 ms limit in at least 95 % of runs.
    static let withinLimitGoalShare = 0.95

    static func summaryLine(_ cell: PeerBenchCell, _ runs: [PeerBenchRun]) -> String {
        let s = summary(cell, runs)
        func ratio(_ value: Double?, goal: Double) -> String {
            value.map { String(format: "%.2f x (goal <= %.1f: %@)", $0, goal, $0 <= goal ? "met" : "missed") } ?? "-"
        }
        let totalGoal = goal(cell)
        return """
              \(cell.label): QEMU gap \(milliseconds(s.qemuGuestGapSeconds)) (its downtime \(milliseconds(s.qemuDowntimeSeconds))), \
            livemig downtime \(milliseconds(s.livemigDowntimeSeconds)) (gap \(milliseconds(s.livemigGuestGapSeconds)))
                downtime / QEMU gap \(ratio(s.downtimeOverQemuGap, goal: downtimeGoalRatio)); \
            total \(s.livemigTotalSeconds.map { String(format: "%.2f s", $0) } ?? "-") / \(s.qemuTotalSeconds.map { String(format: "%.2f s", $0) } ?? "-") = \
            \(ratio(s.totalOverQemuTotal, goal: totalGoal)); converged: QEMU \(runs.contains { $0.tool == "qemu" } ? String(s.qemuConverged) : "not run"), livemig \(s.livemigConverged) of \(s.runsPerTool)
                within the \(Int((cell.downtimeLimitSeconds * 1000).rounded())) ms limit (each tool's own figure): \(share("QEMU", s.qemuWithinLimit, runs.filter { $0.tool == "qemu" }.count)), \(share("livemig", s.livemigWithinLimit, runs.filter { $0.tool == "livemig" }.count))\(s.livemigWithinLimitGoalMet.map { String(format: " (goal >= %.0f %%: %@)", withinLimitGoalShare * 100, $0 ? "met" : "missed") } ?? "")
            """
    }

    private static func share(_ tool: String, _ within: Int, _ of: Int) -> String {
        of == 0 ? "\(tool) not run" : String(format: "%@ %d of %d (%.0f %%)", tool, within, of, 100 * Double(within) / Double(of))
    }
}

/// Per cell: the medians of the converged runs, and the ratios against the goals.
struct PeerBenchSummary: Codable {
    var cell: String
    var qemuConverged: Int
    var livemigConverged: Int
    var runsPerTool: Int
    var qemuGuestGapSeconds: Double?
    var qemuDowntimeSeconds: Double?
    var livemigDowntimeSeconds: Double?
    var livemigGuestGapSeconds: Double?
    var qemuTotalSeconds: Double?
    var livemigTotalSeconds: Double?
    var downtimeOverQemuGap: Double?
    var gapOverQemuGap: Double?
    var totalOverQemuTotal: Double?
    var downtimeGoalMet: Bool?
    var totalGoalMet: Bool?
    /// Nil with `--livemig-only` (no QEMU runs to compare with).
    var convergenceGoalMet: Bool?
    /// Converged runs whose own downtime was at or under the limit, per tool.
    var qemuWithinLimit: Int
    var livemigWithinLimit: Int
    /// The 30 ms cells only: livemig within its limit in at least 95 % of its runs.
    var livemigWithinLimitGoalMet: Bool?
}

/// What `--output` holds.
struct PeerBenchDocument: Codable {
    var qemu: String
    var memoryMiB: Int
    var tscHz: Double
    var runs: [PeerBenchRun]
    var summary: [PeerBenchSummary]
    /// Whether livemig sent zero pages as markers (nil in files from before they existed).
    var livemigZeroPages: Bool?
    /// `--memory-mix`: what both guests' RAM held (nil: the firmware's one word a page).
    var memoryMix: String?
}
