import Dispatch
import ArgumentParser
import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor

/// One live migration of the bench firmware by livemig, source and receiver in this process
/// (as `bench migrate` runs its own), over loopback: the `qemu` policy with the cell's downtime
/// limit and auto-converge, the cell's cap, the paused round at line rate (the default).
struct LivemigPeerMigration {
    let image: [UInt8]
    let memoryMiB: Int
    /// Zero pages as markers (the default) or whole.
    let zeroPages: Bool
    /// `--memory-mix`: written into the source's RAM up to the page given, before it runs.
    var mix: (BenchMemoryMix, endPage: Int)?

    func run(_ cell: PeerBenchCell, number: Int, readySeconds: Double, timeoutSeconds: Double) throws -> PeerBenchRun {
        let source = try KVMGuest.createFirmware(name: "bench-source", memoryBytes: memoryMiB << 20, image: image)
        defer { source.destroy() }
        if let (mix, endPage) = mix { mix.fill(source.memory, upTo: endPage) }
        source.start()
        try PeerBenchmark.waitForHeartbeats(seconds: readySeconds, what: "the livemig guest") { source.console.lines.map(\.text) }

        let receiver = try InProcessReceiver()
        var settings = EngineSettings()
        settings.rateLimitBytesPerSecond = cell.capBytesPerSecond
        settings.live = true
        if let rounds = cell.postcopyAfterRounds { settings.postcopy = .afterLiveRounds(rounds) }
        if cell.compression == "zstd" { settings.compression = .always }
        let connect = { (port: UInt16) throws(HostFailure) -> BlockingSocket in
            try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: Int(port)))
        }
        let streams = cell.streams.flatMap { $0 > 1 ? ParallelStreamsRequest(count: $0, connect: connect) : nil }
        let policy = PolicyConfiguration(name: .qemu, downtimeLimitSeconds: cell.downtimeLimitSeconds, autoConverge: cell.postcopyAfterRounds == nil)
        let cancellation = MigrationCancellation()
        let watchdog = DispatchWorkItem { _ = cancellation.cancel(reason: "the benchmark's \(timeoutSeconds) s limit passed") }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeoutSeconds, execute: watchdog)
        defer { watchdog.cancel() }
        let result = try KVMMigration.migrate(source, over: try BlockingSocket.connect(to: Endpoint(host: "127.0.0.1", port: receiver.port)),
                                              policy: policy, settings: settings, cancellation: cancellation, detectsZeroPages: zeroPages,
                                              parallelStreams: streams, returnPathConnect: connect)
        let destination = try receiver.arrivedGuest(waitingUpTo: 60)
        defer { destination?.destroy() }
        let report = result.report
        var gap: Double?
        if let destination {
            gap = PeerBenchmark.guestGap(source: source.console.lines.map { ($0.seconds, $0.text) },
                                         destination: { destination.console.lines.map { ($0.seconds, $0.text) } })
        }
        return PeerBenchRun(tool: "livemig", cell: cell.label, run: number, totalSeconds: report.totalTimeSeconds,
                            downtimeSeconds: report.downtimeSeconds, guestGapSeconds: gap,
                            converged: report.outcome == .converged || report.outcome == .postcopy, outcome: report.outcome.rawValue,
                            maxThrottlePercent: report.maxThrottlePercent, bytesSent: report.bytesSent,
                            rounds: report.iterations.count, pausePhases: report.pausePhases)
    }
}
