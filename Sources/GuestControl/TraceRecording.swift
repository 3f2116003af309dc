import DirtyTraceFormat
import Foundation
import MigrationCore
import MigrationExecutor

/// `livemig observe`'s work, for a KVM guest (in its daemon) and a Xen domain (in the CLI)
/// alike: the file made first (a bad path fails before the observation, not after), the guest
/// observed, the trace written, and what was found summed up.
public enum TraceRecording {
    public static func record(_ guest: some ObservableGuest, into file: String, seconds: Double,
                              intervalSeconds: Double) throws(HostFailure) -> ObservationSummary {
        guard FileManager.default.createFile(atPath: file, contents: nil) else {
            throw HostFailure("cannot write the trace to \(file)")
        }
        let trace = try DirtyLogObservation.observe(guest, seconds: seconds, intervalSeconds: intervalSeconds)
        guard FileManager.default.createFile(atPath: file, contents: Data(trace.formatted().utf8)) else {
            throw HostFailure("cannot write the trace to \(file)")
        }
        let found = DirtyLogObservation.summary(of: trace)
        var summary = ObservationSummary(file: file, seconds: trace.durationSeconds, reads: trace.records.count,
                                  distinctPages: found.distinctPages, meanPagesPerSecond: found.meanPagesPerSecond,
                                  peakPagesPerSecond: found.peakPagesPerSecond, pageSizeBytes: trace.pageSizeBytes,
                                  guestPages: trace.pageCount)
        summary.zeroPages = guest.zeroPageCount()
        return summary
    }
}
