/// Conversions from a `Double` to an `Int` that never trap. `Int(someDouble)` traps on NaN, on
/// ±infinity and on values beyond `Int`'s range, and silently drops a fraction; every `Double`
/// that came from user input (a size, a rate, a duration) becomes an integer through here, so
/// that a bad value is an error the caller can name instead of a crash.
public enum CheckedConversion {
    /// `value` as an `Int` when it is a whole number within `Int`'s range (`4096.0`); nil for
    /// NaN, ±infinity, a fraction (`0.5`) or a value too large (`1e30`). For sizes: whole bytes.
    public static func wholeInt(_ value: Double) -> Int? {
        Int(exactly: value)
    }

    /// `value` rounded by `rule`, as an `Int`; nil for NaN, ±infinity or a result beyond `Int`'s
    /// range. For counts derived from measured or computed values (pages from a rate x time).
    public static func roundedInt(_ value: Double, _ rule: FloatingPointRoundingRule = .toNearestOrAwayFromZero) -> Int? {
        Int(exactly: value.rounded(rule))
    }

    /// `value` rounded to nearest (halves away from zero) and clamped into `range`; NaN gives
    /// `range.lowerBound`. The common case of the one below, without a rounding rule passed at
    /// run time: the standard library's rule is a resilient enum, so passing one costs its
    /// generic rounding (a tenth of the fluid simulator's batch); `rounded()` is one libm call.
    @inlinable
    public static func clampedInt(_ value: Double, to range: ClosedRange<Int>) -> Int {
        guard !value.isNaN else { return range.lowerBound }
        return clamp(rounded: value.rounded(), to: range)
    }

    /// `value` rounded by `rule` and clamped into `range`; NaN gives `range.lowerBound`. For
    /// internal quantities that only need to stay usable (a write count, a position), never for
    /// user input, which must be refused when out of range.
    @inlinable
    public static func clampedInt(_ value: Double, to range: ClosedRange<Int>,
                                  _ rule: FloatingPointRoundingRule) -> Int {
        guard !value.isNaN else { return range.lowerBound }
        return clamp(rounded: value.rounded(rule), to: range)
    }

    /// A whole, non-NaN `rounded` clamped into `range`.
    @inlinable
    static func clamp(rounded: Double, to range: ClosedRange<Int>) -> Int {
        if rounded <= Double(range.lowerBound) { return range.lowerBound }
        // Double(Int.max) rounds up to 2^63, which Int cannot hold: compare with >=.
        if rounded >= Double(range.upperBound) { return range.upperBound }
        return Int(rounded)
    }
}
