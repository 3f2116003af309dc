import DirtyTraceFormat
import Foundation
import MigrationCore
import MigrationExecutor

/// Watches what a running guest dirties, without migrating it: dirty logging on, the log read
/// and cleared every interval, each read one record of a `DirtyTrace` (the simulator's replay
/// format, docs/trace-format.md), dirty logging off again at the end, whatever happens. This is
/// what lets an operator predict a migration before running one (`livemig observe`).
public enum DirtyLogObservation {
    /// The shortest interval: a read of a 4 GiB guest's log takes about a millisecond here.
    public static let minIntervalSeconds = 0.01
    /// The longest observation.
    public static let maxSeconds = 3600.0

    /// What each interval's read found, for a progress display.
    public struct Interval: Sendable {
        public var elapsedSeconds: Double
        public var pagesDirtied: Int
    }

    /// Checks the two durations; the error names the option and the problem.
    public static func validate(seconds: Double, intervalSeconds: Double) throws(KVMError) {
        guard seconds.isFinite, seconds > 0, seconds <= maxSeconds else {
            throw KVMError("--seconds \(seconds): must be more than 0 and at most \(Int(maxSeconds))")
        }
        guard intervalSeconds.isFinite, intervalSeconds >= minIntervalSeconds, intervalSeconds <= seconds else {
            throw KVMError("--interval \(intervalSeconds): must be from \(minIntervalSeconds) s to the observation's \(seconds) s")
        }
    }

    /// Observes `guest` (running, its dirty logging off) for `seconds`, reading the log every
    /// `intervalSeconds`. The trace's times are from the first clear of the log.
    public static func observe(
        _ guest: KVMGuest, seconds: Double, intervalSeconds: Double, progress: ((Interval) -> Void)? = nil
    ) throws(KVMError) -> DirtyTrace {
        try validate(seconds: seconds, intervalSeconds: intervalSeconds)
        try guest.setDirtyLogging(true)
        defer { try? guest.setDirtyLogging(false) }
        // What the log held when it was switched on (with KVM's "initially set", every page)
        // is not the guest's doing in this window.
        _ = try guest.readDirtyLog(clear: true)
        let start = monotonicSeconds()
        var records: [DirtyTrace.Record] = []
        var next = start + intervalSeconds
        let end = start + seconds
        while true {
            sleep(untilMonotonic: min(next, end))
            let log = try guest.readDirtyLog(clear: true)
            let elapsed = monotonicSeconds() - start
            let pages = log.pageNumbers
            records.append(DirtyTrace.Record(timeSeconds: (elapsed * 1e6).rounded() / 1e6, pages: pages))
            progress?(Interval(elapsedSeconds: elapsed, pagesDirtied: pages.count))
            if let failure = guest.failure { throw KVMError("the guest stopped while observed: \(failure)") }
            if next >= end { break }
            next += intervalSeconds
        }
        return DirtyTrace(pageCount: guest.memory.pageCount, pageSizeBytes: GuestMemory.pageSizeBytes, records: records)
    }
}
