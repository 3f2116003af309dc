import Foundation
import MigrationSweep

/// How much one uncapped migration's time moves from run to run over loopback on this host:
/// the same guest, workload and policy migrated `runs` times without a prediction. No model
/// can be held to less than this on one run: an uncapped loopback migration's rate is the
/// engine's on two shared cores, which the neighbours' load moves (the accuracy suite's
/// uncapped cases take 0.2-0.3 s).
struct AccuracyRepeatability: Codable {
    var label: String
    var runs: Int
    var timesSeconds: [Double]
    var medianSeconds: Double
    /// Of |time / median - 1| over the runs.
    var p90Deviation: Double
    var maxDeviation: Double

    init(label: String, timesSeconds: [Double]) {
        self.label = label
        self.timesSeconds = timesSeconds
        runs = timesSeconds.count
        let sorted = timesSeconds.sorted()
        medianSeconds = SweepStatistics.percentile(50, of: sorted) ?? 0
        let median = medianSeconds
        let deviations = timesSeconds.map { median > 0 ? abs($0 / median - 1) : 0 }.sorted()
        p90Deviation = SweepStatistics.percentile(90, of: deviations) ?? 0
        maxDeviation = deviations.last ?? 0
    }

    var line: String {
        String(format: "run to run, %@ x %d: median %.3f s, p90 deviation %.1f %%, max %.1f %% (the floor under any prediction of one uncapped run)",
               label, runs, medianSeconds, p90Deviation * 100, maxDeviation * 100)
    }
}
