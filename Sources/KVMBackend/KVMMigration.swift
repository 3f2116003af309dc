import MigrationCore
import MigrationExecutor
import MigrationStream

/// What a live (or offline) migration of a KVM guest produced on the source.
public struct KVMMigrationResult {
    public var report: MigrationReport
    /// A digest of guest memory when the source let it go (paused since the final round), when
    /// asked for: the destination must hold exactly this memory.
    public var sourceDigestAtPause: UInt64?
    /// Wall-clock time the source guest stopped for the final round.
    public var pausedWallClockSeconds: Double?
    /// The destination's wall-clock time of the unpause (its own clock), from its `running` record.
    public var destinationRunningWallClockSeconds: Double?
    /// Whether the source guest is still running here (after an abort).
    public var sourceRunning: Bool
    public var resumeCount: Int
    /// The destination's nonce for this migration (see `GuestQuery`).
    public var migrationNonce: [UInt8]
}

/// Migrates a running KVM guest over a connected socket: the engine core, driven by the
/// executor, against this guest and the stream channel.
public enum KVMMigration {
    public static func migrate(
        _ guest: KVMGuest, over socket: BlockingSocket, policy: PolicyConfiguration, settings: EngineSettings = EngineSettings(),
        cancellation: MigrationCancellation = MigrationCancellation(), steering: MigrationSteering? = nil, maxDowntimeSeconds: Double? = nil,
        timeouts: SenderTimeouts = SenderTimeouts(),
        computeDigest: Bool = false, verifyMemory: Bool = false, detectsZeroPages: Bool = true, sendsDeltas: Bool = false,
        parallelStreams: ParallelStreamsRequest? = nil,
        returnPathConnect: ((UInt16) throws(HostFailure) -> BlockingSocket)? = nil,
        progress: ((MigrationProgress) -> Void)? = nil
    ) throws(HostFailure) -> KVMMigrationResult {
        cancellation.attach(socket, shutdownWriting: true)
        let pageAddress: (Int) -> UnsafeRawPointer = { UnsafeRawPointer(guest.memory.page($0)) }
        var channel = try StreamChannel(socket: socket, layout: guest.streamLayout, timeouts: timeouts, pageAddress: pageAddress)
        channel.detectsZeroPages = detectsZeroPages
        channel.postcopyMinimumWindowBytes = settings.postcopyWindowBytes
        channel.compressedMinimumWindowBytes = settings.compressedWindowBytes
        // With data streams the main connection carries no pages: only they compress.
        let compressesPages = settings.compression != .off
        if compressesPages, parallelStreams == nil { try channel.compressWithZstd() }
        var settings = settings
        settings.compressionThreads = parallelStreams?.count ?? 1
        // An offline migration (or a save) sends each page once: nothing to take a delta against.
        // Deltas go, like zstd's `auto`, where the engine measures they pay: not in a paused round
        // that loopback carries faster whole than the CPU makes deltas.
        if sendsDeltas, settings.live {
            guard parallelStreams == nil else { throw HostFailure("XBZRLE deltas run on one stream: --streams 1") }
            channel.sendDeltas(cacheBytes: min(64 << 20, guest.memory.sizeBytes))
            settings.compression = .auto
        }
        let dataStreams = try parallelStreams.map { request throws(HostFailure) in
            // Two sends out per stream: one being written, one queued behind it.
            settings.maxActionsInFlight = min(EngineSettings.maxActionsInFlightLimit, 2 * request.count)
            return try DataStreamSenders.open(count: request.count, main: &channel, layout: guest.streamLayout, detectsZeroPages: detectsZeroPages,
                                              compresses: compressesPages, compressedWindowBytes: settings.compressedWindowBytes,
                                              timeouts: timeouts, cancellation: cancellation, connect: request.connect, pageAddress: pageAddress)
        }
        // Post-copy's page requests come on a connection of their own (docs/stream-format.md).
        var returnPath: ReturnPathReader?
        if settings.postcopy != .never {
            guard parallelStreams == nil else { throw HostFailure("post-copy runs on one stream: --streams 1") }
            guard let returnPathConnect else { throw HostFailure("post-copy needs a destination to ask for pages (not a file)") }
            returnPath = try channel.openReturnPath(cancellation: cancellation, connect: returnPathConnect)
        }
        var engine = SourceMigration(tracker: BitmapPageTracker(pageCount: guest.memory.pageCount, collectsPageNumbers: true),
                                     policy: policy.makePolicy(), settings: settings)
        var hypervisor = KVMSourceHypervisor(guest: guest, digestOnRelease: computeDigest, sendsMemoryDigest: verifyMemory)
        let writesAtStart = (writes: guest.counters.writes, monotonicSeconds: monotonicSeconds())
        var report = MigrationExecutor.run(&engine, on: &hypervisor, over: &channel, cancellation: cancellation,
                                           steering: steering, maxDowntimeSeconds: maxDowntimeSeconds, dataStreams: dataStreams, returnPath: returnPath,
                                           progress: progress)
        report.scenario = guest.name
        if verifyMemory {
            // After post-copy the destination's page-wise digest is the check (the executor set it).
            report.memoryVerified = channel.postcopyCompletion != nil
                ? channel.postcopyMemoryVerified : report.outcome != .aborted && channel.sentMemoryDigest
        }
        if report.outcome != .aborted, let paused = hypervisor.pausedWallClockSeconds {
            let lastHere = guest.console.lastLine(atOrBefore: paused)
            let firstThere = channel.awaitFirstConsoleLine(timeoutSeconds: MigrationReceiver.firstConsoleLineWaitSeconds + 0.5)
            report.measured = WallClockMeasurements(
                downtimeBothClocksSeconds: channel.destinationRunningWallClockSeconds.map { $0 - paused },
                guestVisibleGapSeconds: lastHere.flatMap { here in firstThere.map { $0.wallClockSeconds - here.seconds } },
                lastLineBeforePause: lastHere?.text, firstLineAfterUnpause: firstThere?.text)
            report.measured?.drainBeforePauseSeconds = dataStreams.map { $0.lastDrainWaitSeconds } ?? channel.lastDrainWaitSeconds
        }
        // What the guest program achieved while it ran live (its own count of page writes, up
        // to the pause, or to now if it was never paused): the rate it was asked for is not
        // what it reaches when its vCPU competes with the migration for the CPU.
        if guest.firmware == nil {
            let end = hypervisor.writesAtPause ?? (guest.counters.writes, monotonicSeconds())
            let seconds = end.monotonicSeconds - writesAtStart.monotonicSeconds
            if seconds > 0, end.writes >= writesAtStart.writes {
                var measured = report.measured ?? WallClockMeasurements()
                measured.guestWritesPerSecond = Double(end.writes - writesAtStart.writes) / seconds
                report.measured = measured
            }
        }
        return KVMMigrationResult(report: report, sourceDigestAtPause: hypervisor.digestAtRelease,
                                  pausedWallClockSeconds: hypervisor.pausedWallClockSeconds,
                                  destinationRunningWallClockSeconds: channel.destinationRunningWallClockSeconds,
                                  sourceRunning: engine.sourceGuestRunning, resumeCount: hypervisor.resumeCount,
                                  migrationNonce: channel.migrationNonce)
    }
}

/// `--streams N` for a KVM migration: N data streams (2 to 16) beside the main connection, each
/// made by `connect` to the port the destination names, the way the main one was made (same
/// host, same TLS).
public struct ParallelStreamsRequest {
    public var count: Int
    public var connect: (UInt16) throws(HostFailure) -> BlockingSocket

    public init(count: Int, connect: @escaping (UInt16) throws(HostFailure) -> BlockingSocket) {
        self.count = count
        self.connect = connect
    }
}
