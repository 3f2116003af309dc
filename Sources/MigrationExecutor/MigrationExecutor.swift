import Dispatch
import Foundation
import MigrationCore
import MigrationStream

/// What the executor tells its watcher after every action: enough for a progress line.
public struct MigrationProgress: Sendable {
    public var elapsedSeconds: Double
    public var iteration: Int
    public var paused: Bool
    public var totalBytesSent: Double
    public var pagesPending: Double
    public var measuredBytesPerSecond: Double
    public var pageSizeBytes: Int
    public var totalPagesSent: Double
    public var guestPages: Double
    /// The live rounds finished so far, with their dirtied counts.
    public var completedLiveRounds: [IterationReport]
    /// Seconds the round under way has run.
    public var roundElapsedSeconds: Double
    /// Where the migration is: live rounds, the final copy, or the abort path.
    public var phase: Phase = .precopy
    /// The guest CPU throttle now, percent (auto-converge, the dirty limit).
    public var throttlePercent = 0
    /// The bandwidth cap now, bytes per second; nil for none.
    public var rateLimitBytesPerSecond: Double?
    /// Pages sent as zero-page markers so far.
    public var zeroPagesSent = 0
    /// Connections carrying the pages: 1, or the data streams of a parallel migration.
    public var streams = 1
    /// Page data before compression over after (`--compress zstd`), of the batches compressed so
    /// far; nil when none was.
    public var compressionRatio: Double?

    /// Where the migration is, as `livemig job` shows it (QEMU's `query-migrate` status).
    public enum Phase: String, Sendable, Codable {
        /// Live rounds: the guest runs here while its memory is copied.
        case precopy
        /// The guest is paused for the final copy, the device state and the handshake.
        case stopAndCopy
        /// A failure or a cancel: undoing (dirty logging off, the guest resumed here).
        case aborting
        /// Post-copy: the guest runs on the destination; the pages it lacks are being sent.
        case postcopy
    }

    /// Pages per second the guest dirtied during the last live round whose dirty log has been
    /// read (a round just closed has no count until the read after it).
    public var dirtyPagesPerSecond: Double? {
        completedLiveRounds.last { $0.durationSeconds > 0 && $0.pagesDirtied > 0 }.map { Double($0.pagesDirtied) / $0.durationSeconds }
    }

    /// The estimate of what is left by the model (`RemainingMigrationEstimate`), under `policy`,
    /// with `expectedDirtying` standing in for the dirtying until a read has measured it.
    public func remaining(under policy: PolicyConfiguration,
                          expectedDirtying: [RemainingMigrationEstimate.DirtyClass] = []) -> RemainingMigrationEstimate? {
        // The rate over the whole migration so far (once it has run 0.2 s): the 100 ms
        // meter moves by a tenth from one window to the next, and the time left with it.
        let rate = elapsedSeconds >= 0.2 && totalBytesSent > 0 ? totalBytesSent / elapsedSeconds : measuredBytesPerSecond
        return RemainingMigrationEstimate.estimate(.init(
            round: iteration, paused: paused, pagesPending: pagesPending, roundElapsedSeconds: roundElapsedSeconds,
            totalPagesSent: totalPagesSent, guestPages: guestPages, pageSizeBytes: pageSizeBytes,
            bytesPerSecond: rate, completedLiveRounds: completedLiveRounds, expectedDirtying: expectedDirtying,
            elapsedSeconds: elapsedSeconds),
            policy: policy)
    }

    /// Seconds the pending pages would take at the measured rate: the downtime if the guest
    /// were paused now, and the time left if nothing more were dirtied.
    public var expectedDowntimeSeconds: Double {
        measuredBytesPerSecond > 0 ? pagesPending * Double(pageSizeBytes) / measuredBytesPerSecond : 0
    }
}

/// The real-time driver of the engine core: asks it for actions, performs them on a hypervisor
/// and a channel through the same `perform` the simulator uses, and reports their end with the
/// monotonic clock. Nothing about policies or rounds lives here.
///
/// A `MigrationCancellation` (attached to the stream's socket by the caller) stops the
/// migration at any point before "cleared to unpause": forward steps are then not performed,
/// the engine takes its abort path and the source guest runs again. `maxDowntimeSeconds`
/// arms that cancel when the guest is paused: if the destination has not been cleared by then,
/// the source resumes (QEMU has no such bound; libvirt's `--timeout` acts before the pause).
public enum MigrationExecutor {
    public static func run<Hypervisor: SourceHypervisor>(
        _ engine: inout SourceMigration<BitmapPageTracker>, on hypervisor: inout Hypervisor,
        over channel: inout StreamChannel, cancellation: MigrationCancellation = MigrationCancellation(),
        steering: MigrationSteering? = nil, maxDowntimeSeconds: Double? = nil, dataStreams: DataStreamSenders? = nil,
        returnPath: ReturnPathReader? = nil, progress: ((MigrationProgress) -> Void)? = nil
    ) -> MigrationReport where Hypervisor.DirtyLog == DirtyBitmap, Hypervisor.DeviceState == CapturedGuestState {
        if let dataStreams {
            var parallel = ParallelStreamChannel(main: channel, dataStreams: dataStreams)
            defer { channel = parallel.main }
            return runParallel(&engine, on: &hypervisor, over: &parallel, cancellation: cancellation, steering: steering,
                               maxDowntimeSeconds: maxDowntimeSeconds, progress: progress)
        }
        var publisher = ProgressPublisher(progress: progress, steering: steering)
        returnPath?.start()
        defer {
            // Detached first: a late cancel must not shut a descriptor number closed here.
            cancellation.detach()
            returnPath?.stop()
            steering?.end()
        }
        var cancelDelivered = false
        while true {
            let now = monotonicSeconds()
            deliverOperatorInput(to: &engine, cancellation: cancellation, steering: steering, cancelDelivered: &cancelDelivered, now: now)
            if let returnPath { deliverPageRequests(from: returnPath, to: &engine, now: now) }
            guard let tagged = engine.poll(now: now) else {
                preconditionFailure("the engine handed out nothing with no action out")
            }
            let action = tagged.action
            switch action {
            case .finished(var report):
                if report.outcome == .aborted { channel.abort(reason: report.reason) }
                report.pausePhases = report.pausePhases?.adding(destination: channel.destinationPauseWork)
                if channel.detectsZeroPages { report.zeroPagesSent = channel.zeroPagesSent }
                report.compressionRatio = channel.compressionRatio
                if channel.counts.deltaPagesSent > 0 { report.deltaPagesSent = channel.counts.deltaPagesSent }
                if let completion = channel.postcopyCompletion { fill(&report, from: completion) }
                return report
            case .waitUntil(let seconds):
                waitForCap(until: seconds, steering: steering, cancellation: cancellation, returnPath: returnPath)
                engine.complete(tagged.id, .done, now: monotonicSeconds())
            default:
                if case .send = action { channel.compressesNow = engine.compressesSends }
                let outcome = performUnlessCancelled(action, on: &hypervisor, over: &channel, cancellation: cancellation)
                engine.complete(tagged.id, outcome, now: monotonicSeconds())
                // A send that failed measured nothing the engine should weigh.
                if let sample = channel.takeCompressionSample(), case .sent = outcome { _ = engine.handle(sample.event, now: monotonicSeconds()) }
                if case .pauseGuest = action, let maxDowntimeSeconds {
                    cancellation.armDowntimeWatchdog(seconds: maxDowntimeSeconds)
                }
            }
            publisher.publish { elapsed in snapshot(of: engine, counts: channel.counts, elapsedSeconds: elapsed) }
        }
    }

    /// A cancel (once) and an operator's new limits, handed to the engine between two actions
    /// (the engine is never shared between threads).
    static func deliverOperatorInput(to engine: inout SourceMigration<BitmapPageTracker>, cancellation: MigrationCancellation,
                                     steering: MigrationSteering?, cancelDelivered: inout Bool, now: Double) {
        if !cancelDelivered, let reason = cancellation.cancelledReason, !cancellation.hasCommitted {
            cancelDelivered = true
            _ = engine.handle(.cancel(reason: reason), now: now)
        }
        steering?.deliver { engine.handle($0, now: now) }
    }

    /// Post-copy: the destination's page requests, handed to the engine between two actions, so
    /// that its next sends are the pages the running guest waits on.
    static func deliverPageRequests(from returnPath: ReturnPathReader, to engine: inout SourceMigration<BitmapPageTracker>, now: Double) {
        let pages = returnPath.take()
        guard !pages.isEmpty else { return }
        if case .refused(let reason) = engine.handle(.pagesRequested(PageRequest(pages: pages)), now: now) {
            FileHandle.standardError.write(Data("livemig: a page request was refused: \(reason)\n".utf8))
        }
    }

    /// The destination's count of post-copy's faults and their waits, into the report (whether
    /// its page-wise digest matched is the caller's `memoryVerified`, as for a pre-copy's digest).
    static func fill(_ report: inout MigrationReport, from completion: PostcopyCompletion) {
        let faults = Int(exactly: completion.faults) ?? Int.max
        report.postcopy?.faults = faults
        report.postcopy?.faultLatencyMeanSeconds = faults > 0 ? Double(completion.latencySumMicroseconds) / 1e6 / Double(faults) : nil
        report.postcopy?.faultLatencyMaxSeconds = faults > 0 ? Double(completion.latencyMaxMicroseconds) / 1e6 : nil
    }

    /// What the engine and the channel say now, for a progress line and `livemig job`.
    static func snapshot(of engine: SourceMigration<BitmapPageTracker>, counts: PageSendCounts, streams: Int = 1,
                         elapsedSeconds: Double) -> MigrationProgress {
        let stats = engine.stats
        let finished = engine.completedIterations
        let roundStart = finished.last.map { $0.startSeconds + $0.durationSeconds } ?? 0
        var update = MigrationProgress(
            elapsedSeconds: elapsedSeconds, iteration: stats.iteration + 1,
            paused: !engine.sourceGuestRunning, totalBytesSent: stats.totalBytesSent,
            pagesPending: stats.pendingPageCount, measuredBytesPerSecond: stats.measuredBandwidthBytesPerSecond,
            pageSizeBytes: stats.pageSizeBytes, totalPagesSent: stats.totalPagesSent, guestPages: stats.guestPageCount,
            completedLiveRounds: finished.filter { !$0.paused }, roundElapsedSeconds: max(0, stats.elapsedSeconds - roundStart))
        update.phase = engine.isAborting ? .aborting : engine.inPostcopy ? .postcopy : (engine.sourceGuestRunning ? .precopy : .stopAndCopy)
        update.throttlePercent = engine.throttlePercent
        update.rateLimitBytesPerSecond = engine.settings.rateLimitBytesPerSecond
        update.zeroPagesSent = counts.zeroPagesSent
        update.compressionRatio = counts.compressionRatio
        update.streams = streams
        return update
    }

    /// Hands progress to the watcher every 0.25 s, and to `livemig job` (the steering) from the
    /// first action on, then at the same pace.
    struct ProgressPublisher {
        let progress: ((MigrationProgress) -> Void)?
        let steering: MigrationSteering?
        private let start: Double
        private var lastProgress: Double
        private var steeringHasProgress = false

        init(progress: ((MigrationProgress) -> Void)?, steering: MigrationSteering?) {
            self.progress = progress
            self.steering = steering
            start = monotonicSeconds()
            lastProgress = start
        }

        /// After an action: `update` makes the progress (given the seconds since the start) when due.
        mutating func publish(_ update: (Double) -> MigrationProgress) {
            guard progress != nil || steering != nil else { return }
            let now = monotonicSeconds()
            let watcherDue = now - lastProgress >= 0.25
            guard watcherDue || (steering != nil && !steeringHasProgress) else { return }
            let made = update(now - start)
            steering?.record(made)
            steeringHasProgress = true
            if watcherDue {
                lastProgress = now
                progress?(made)
            }
        }
    }

    /// Waits for the bandwidth cap in slices, so that a cancel or a new limit (which may lift
    /// or raise the cap) is taken within 50 ms rather than after a long wait under a low cap.
    static func waitForCap(until seconds: Double, steering: MigrationSteering?, cancellation: MigrationCancellation,
                           returnPath: ReturnPathReader? = nil) {
        while monotonicSeconds() < seconds {
            if steering?.hasQueuedEvents == true || cancellation.cancelledReason != nil || returnPath?.hasRequests == true { return }
            sleep(untilMonotonic: min(seconds, monotonicSeconds() + 0.05))
        }
    }

    /// Performs `action`, or reports it not performed when a cancel came first and it would
    /// move the migration forward; a step that failed because the cancel shut the socket says
    /// so. "Cleared to unpause" is sent only through the cancellation's commit.
    static func performUnlessCancelled<Hypervisor: SourceHypervisor, Channel: MigrationChannel>(
        _ action: SourceAction<[Int]>, on hypervisor: inout Hypervisor, over channel: inout Channel,
        cancellation: MigrationCancellation
    ) -> ActionOutcome<DirtyBitmap> where Hypervisor.DirtyLog == DirtyBitmap, Hypervisor.DeviceState == CapturedGuestState,
        Channel.Batch == [Int], Channel.DeviceState == CapturedGuestState {
        let movesForward: Bool = switch action {
        case .send, .peekDirtyLog, .readAndClearDirtyLog, .pauseGuest, .sendDeviceState, .awaitDestinationReady: true
        default: false
        }
        // The point of no return: "cleared to unpause", or post-copy's hand-over (after it the
        // destination's guest runs and the source's copy goes stale). A cancel after it must not
        // shut the connection.
        let commits: Bool = switch action {
        case .clearDestinationToRun, .startPostcopy: true
        default: false
        }
        if commits, !cancellation.commit() {
            return .notPerformed("cancelled: \(cancellation.cancelledReason ?? "")")
        }
        if movesForward, let reason = cancellation.cancelledReason { return .notPerformed("cancelled: \(reason)") }
        return explainedByCancel(perform(action, on: &hypervisor, over: &channel), cancellation: cancellation)
    }

    /// A step that failed because a cancel shut the socket says so.
    static func explainedByCancel(_ outcome: ActionOutcome<DirtyBitmap>, cancellation: MigrationCancellation) -> ActionOutcome<DirtyBitmap> {
        if case .failed(let message) = outcome, !cancellation.hasCommitted, let reason = cancellation.cancelledReason {
            return .failed("cancelled: \(reason) (\(message))")
        }
        return outcome
    }
}
