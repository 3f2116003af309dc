import Foundation
import MigrationSweep

/// How much one uncapped migration's time moves from run to run over loopback on this host:
/// the same guest, workload and policy migrated `runs` times without a prediction. No model
/// can be held to less than this on one run: an uncapped loopback migration's rate is the
/// engine's on two shared cores, which the neighbours' load moves (the accuracy suite's
/// uncapped cases take 0.2-0.3 s).
struct AccuracyRepeatability: Codable {
    var label: String
    var timesSeconds: [Double]
    var medianSeconds: Double
    /// Of |time / median - 1| over the runs.
    var deviation: AccuracySummary.Distribution

    init(label: String, timesSeconds: [Double]) {
        self.label = label
        self.timesSeconds = timesSeconds
        let median = SweepStatistics.percentile(50, of: timesSeconds.sorted()) ?? 0
        medianSeconds = median
        deviation = AccuracySummary.Distribution(magnitudesOf: timesSeconds.map { median > 0 ? $0 / median - 1 : 0 })
    }

    var line: String {
        String(format: "run to run, %@ x %d: median %.3f s, p90 deviation %.1f %%, max %.1f %% (the floor under any prediction of one uncapped run)",
               label, deviation.cases, medianSeconds, deviation.p90 * 100, deviation.max * 100)
    }
}
