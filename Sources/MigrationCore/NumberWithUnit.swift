/// A number written with an optional unit after it ("100Mbit/s", "30ms", "5"), as `--vary`
/// ranges, distributions and tuning knobs take them: split apart to compute with, and put
/// back together in the same unit.
public enum NumberWithUnit {
    /// The leading number and the rest (trimmed): "100 Mbit/s" is (100, "Mbit/s"). Nil when no
    /// finite number leads, or when the rest holds a control character.
    public static func split(_ text: String) -> (value: Double, unit: String)? {
        let trimmed = text.trimmingSpaces()
        let number = trimmed.prefix { "0123456789.+-eE".contains($0) }
        guard let value = Double(number), value.isFinite else { return nil }
        let unit = trimmed.dropFirst(number.count).trimmingSpaces()
        // A unit is printable text: a control character (a line break) means two values.
        guard !unit.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else { return nil }
        return (value, unit)
    }

    /// `value` as text: whole numbers without a fraction (a whole-number key refuses "10.0"),
    /// others in full; never traps (huge values are written as doubles).
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// Why texts do not make one list of numbers in one unit: the index of the first text that
    /// is no number, or of the first whose unit differs (with the units seen by then).
    public enum Mismatch: Error {
        case notANumber(index: Int)
        case mixedUnits(index: Int, units: [String])
    }

    /// Every text split (`split`), all in one unit: the numbers and that unit ("" for none, and
    /// for no texts). What a distribution's arguments and a samples file's lines must be.
    public static func splitSharingOneUnit(_ texts: [String]) throws(Mismatch) -> (values: [Double], unit: String) {
        var values: [Double] = []
        var unit: String?
        for (index, text) in texts.enumerated() {
            guard let (value, its) = split(text) else { throw .notANumber(index: index) }
            if let unit, unit != its { throw .mixedUnits(index: index, units: [unit, its].sorted()) }
            unit = its
            values.append(value)
        }
        return (values, unit ?? "")
    }
}
