/// The value syntaxes of `xend-config.sxp` entries and of the matching command-line options.
/// Each returns the value or the problem in words; the caller names the entry or option.
public enum ConfigurationValue {
    /// xend's `get_config_bool` (`XendOptions.py`): the value lowercased, one of
    /// yes y 1 on true t, or no n 0 off false f.
    public static func bool(_ text: String) -> Result<Bool, Problem> {
        switch text.lowercased() {
        case "yes", "y", "1", "on", "true", "t": .success(true)
        case "no", "n", "0", "off", "false", "f": .success(false)
        default: .failure(Problem("'\(text)' is not yes or no (xend also took y 1 on true t, n 0 off false f)"))
        }
    }

    /// xend's `get_config_int` (Python's `int()` of the text: surrounding spaces, an optional
    /// sign, decimal digits), then checked against `range`.
    public static func integer(_ text: String, in range: ClosedRange<Int>) -> Result<Int, Problem> {
        let trimmed = text.trimmingSpaces
        var digits = Substring(trimmed)
        var negative = false
        if let sign = digits.first, sign == "+" || sign == "-" {
            negative = sign == "-"
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.allSatisfy({ ("0" ... "9").contains($0) }) else {
            return .failure(Problem("'\(text)' is not a whole number"))
        }
        // Leading zeros are fine (Python's int() takes them); more digits than any value in
        // range can have is out of range without converting.
        let significant = digits.drop { $0 == "0" }
        guard significant.count <= 18, let magnitude = Int(significant.isEmpty ? "0" : significant) else {
            return .failure(Problem("'\(text)' is out of range (\(range.lowerBound) to \(range.upperBound))"))
        }
        let value = negative ? -magnitude : magnitude
        guard range.contains(value) else {
            return .failure(Problem("\(value) is out of range (\(range.lowerBound) to \(range.upperBound))"))
        }
        return .success(value)
    }

    /// A duration in seconds: a plain decimal number (`30`, `2.5`), finite, within `range`.
    public static func seconds(_ text: String, in range: ClosedRange<Double>) -> Result<Double, Problem> {
        let trimmed = text.trimmingSpaces
        let parts = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        let isDecimal = !trimmed.isEmpty && parts.count <= 2 && parts.allSatisfy { $0.allSatisfy { ("0" ... "9").contains($0) } }
            && !(parts.first?.isEmpty ?? true) && trimmed.count <= 32
        guard isDecimal, let value = Double(trimmed), value.isFinite else {
            return .failure(Problem("'\(text)' is not a number of seconds (like 30 or 2.5)"))
        }
        guard range.contains(value) else {
            return .failure(Problem("\(trimmed) s is out of range (\(range.lowerBound) to \(range.upperBound) s)"))
        }
        return .success(value)
    }

    /// Why a value cannot be used.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }
}

extension String {
    /// Without the spaces Python's `str.strip()` removes at either end (space, \t \n \v \f \r).
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || ("\t" ... "\r").contains($0) || $0 == "\r\n" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
