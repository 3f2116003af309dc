/// Percentiles of a sample, by the nearest-rank method (the value at rank ceil(p/100 x n)):
/// a value that occurred, so a p99 of 20 runs is their largest; and 95 % confidence intervals
/// for them and for a proportion.
public enum SweepStatistics {
    /// z for a two-sided 95 % interval.
    static let z95 = 1.959_963_985

    /// A distribution-free 95 % confidence interval for the p-th percentile: the order
    /// statistics at ranks n p -/+ z sqrt(n p (1 - p)) (the binomial's normal approximation;
    /// Conover, Practical Nonparametric Statistics, 3.2), clamped to the sample. With few runs
    /// it is wide: a p99 of 20 runs reaches to their largest.
    public static func percentileInterval(_ p: Double, of values: [Double]) -> [Double]? {
        guard !values.isEmpty, p > 0, p <= 100 else { return nil }
        let sorted = values.sorted()
        let n = Double(sorted.count), q = p / 100
        let spread = z95 * (n * q * (1 - q)).squareRoot()
        let low = Int(max(1, (n * q - spread).rounded(.down)))
        let high = Int(min(n, (n * q + spread).rounded(.up) + 1))
        return [sorted[min(low, sorted.count) - 1], sorted[max(high, 1) - 1]]
    }

    /// Wilson's 95 % score interval for a proportion of `successes` in `trials` (sound near 0
    /// and 1, where the normal approximation is not).
    public static func proportionInterval(successes: Int, trials: Int) -> [Double] {
        guard trials > 0 else { return [0, 1] }
        let n = Double(trials), phat = Double(successes) / n, z2 = z95 * z95
        let centre = (phat + z2 / (2 * n)) / (1 + z2 / n)
        let half = z95 * (phat * (1 - phat) / n + z2 / (4 * n * n)).squareRoot() / (1 + z2 / n)
        return [max(0, centre - half), min(1, centre + half)]
    }

    public static func percentile(_ p: Double, of values: [Double]) -> Double? {
        guard !values.isEmpty, p > 0, p <= 100 else { return nil }
        let sorted = values.sorted()
        let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }
}
