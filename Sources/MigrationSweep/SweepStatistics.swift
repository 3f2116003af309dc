/// Percentiles of a sample, by the nearest-rank method (the value at rank ceil(p/100 x n)):
/// a value that occurred, so a p99 of 20 runs is their largest.
public enum SweepStatistics {
    public static func percentile(_ p: Double, of values: [Double]) -> Double? {
        guard !values.isEmpty, p > 0, p <= 100 else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
