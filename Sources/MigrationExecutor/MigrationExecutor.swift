import MigrationCore

/// What the executor tells its watcher after every action: enough for a progress line.
public struct MigrationProgress: Sendable {
    public var elapsedSeconds: Double
    public var iteration: Int
    public var paused: Bool
    public var totalBytesSent: Double
    public var pagesPending: Double
    public var measuredBytesPerSecond: Double
    public var pageSizeBytes: Int

    /// Seconds the pending pages would take at the measured rate: the downtime if the guest
    /// were paused now, and the time left if nothing more were dirtied.
    public var expectedDowntimeSeconds: Double {
        measuredBytesPerSecond > 0 ? pagesPending * Double(pageSizeBytes) / measuredBytesPerSecond : 0
    }
}

/// The real-time driver of the engine core: asks it for actions, performs them on a hypervisor
/// and a channel through the same `perform` the simulator uses, and reports their end with the
/// monotonic clock. Nothing about policies or rounds lives here.
public enum MigrationExecutor {
    public static func run<Hypervisor: SourceHypervisor>(
        _ engine: inout SourceMigration<BitmapPageTracker>, on hypervisor: inout Hypervisor,
        over channel: inout StreamChannel, progress: ((MigrationProgress) -> Void)? = nil
    ) -> MigrationReport where Hypervisor.DirtyLog == DirtyBitmap, Hypervisor.DeviceState == CapturedGuestState {
        let start = monotonicSeconds()
        var lastProgress = start
        while true {
            let now = monotonicSeconds()
            let action = engine.nextAction(now: now)
            switch action {
            case .finished(let report):
                if report.outcome == .aborted { channel.abort(reason: report.reason) }
                return report
            case .waitUntil(let seconds):
                sleep(untilMonotonic: seconds)
                engine.complete(.done, now: monotonicSeconds())
            default:
                let outcome = perform(action, on: &hypervisor, over: &channel)
                engine.complete(outcome, now: monotonicSeconds())
            }
            if let progress, monotonicSeconds() - lastProgress >= 0.25 {
                lastProgress = monotonicSeconds()
                let stats = engine.stats
                progress(MigrationProgress(
                    elapsedSeconds: lastProgress - start, iteration: stats.iteration + 1,
                    paused: !engine.sourceGuestRunning, totalBytesSent: stats.totalBytesSent,
                    pagesPending: stats.pendingPageCount, measuredBytesPerSecond: stats.measuredBandwidthBytesPerSecond,
                    pageSizeBytes: stats.pageSizeBytes))
            }
        }
    }
}
