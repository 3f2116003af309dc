import DirtyTraceFormat
import Foundation
import MigrationCore

/// Watches what a running guest dirties, without migrating it: dirty logging on, the log read
/// and cleared every interval, each read one record of a `DirtyTrace` (the simulator's replay
/// format, docs/trace-format.md), dirty logging off again at the end, whatever happens. This is
/// what lets an operator predict a migration before running one (`livemig observe`).
public enum DirtyLogObservation {
    /// The shortest interval: a read of a 4 GiB guest's log takes about a millisecond here.
    public static let minIntervalSeconds = 0.01
    /// The longest observation.
    public static let maxSeconds = 3600.0

    /// Checks the two durations; the error names the option and the problem.
    public static func validate(seconds: Double, intervalSeconds: Double) throws(HostFailure) {
        guard seconds.isFinite, seconds > 0, seconds <= maxSeconds else {
            throw HostFailure("--seconds \(seconds): must be more than 0 and at most \(Int(maxSeconds))")
        }
        guard intervalSeconds.isFinite, intervalSeconds >= minIntervalSeconds, intervalSeconds <= seconds else {
            throw HostFailure("--interval \(intervalSeconds): must be from \(minIntervalSeconds) s to the observation's \(seconds) s")
        }
    }

    /// Observes `guest` (running, its dirty logging off) for `seconds`, reading the log every
    /// `intervalSeconds`. The trace's times are from the first clear of the log.
    public static func observe(_ guest: some ObservableGuest, seconds: Double, intervalSeconds: Double) throws(HostFailure) -> DirtyTrace {
        try validate(seconds: seconds, intervalSeconds: intervalSeconds)
        try guest.setDirtyLogging(on: true)
        defer { try? guest.setDirtyLogging(on: false) }
        // What the log held when it was switched on (with KVM's "initially set", every page)
        // is not the guest's doing in this window.
        _ = try guest.readAndClearDirtyLog()
        let start = monotonicSeconds()
        var records: [DirtyTrace.Record] = []
        // Read k at k x interval (the last at the end): deadlines from multiples, not from a
        // running sum, so rounding never adds a read microseconds after the one before.
        let reads = max(1, Int((seconds / intervalSeconds - 1e-9).rounded(.up)))
        for read in 1 ... reads {
            sleep(untilMonotonic: start + min(Double(read) * intervalSeconds, seconds))
            let log = try guest.readAndClearDirtyLog()
            let elapsed = monotonicSeconds() - start
            records.append(DirtyTrace.Record(timeSeconds: (elapsed * 1e6).rounded() / 1e6, pages: log.pageNumbers))
            if let reason = guest.stoppedReason { throw HostFailure("the guest stopped while observed: \(reason)") }
        }
        return DirtyTrace(pageCount: guest.observedPageCount, pageSizeBytes: guest.observedPageSizeBytes, records: records)
    }

    /// What an observation found, in the terms `livemig observe` prints.
    public static func summary(of trace: DirtyTrace) -> (distinctPages: Int, meanPagesPerSecond: Double, peakPagesPerSecond: Double) {
        var distinct = DirtyBitmap(pageCount: trace.pageCount)
        var peak = 0.0
        var previous = 0.0
        for record in trace.records {
            for page in record.pages { distinct.insert(page) }
            let span = record.timeSeconds - previous
            if span > 0 { peak = max(peak, Double(record.pages.count) / span) }
            previous = record.timeSeconds
        }
        let total = trace.records.reduce(0) { $0 + $1.pages.count }
        return (distinct.count, trace.durationSeconds > 0 ? Double(total) / trace.durationSeconds : 0, peak)
    }
}
