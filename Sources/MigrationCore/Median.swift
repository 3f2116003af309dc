/// The median of measured values: the one robust average the engine's fits and the benchmarks
/// use, so that one odd run does not move a figure.
public enum Median {
    /// The middle value (the mean of the two middle ones for an even count); nil for none.
    public static func of(_ values: [Double]) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
