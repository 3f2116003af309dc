/// The allowed range of one numeric input (a command-line option, a control request field, a
/// scenario key), written once with its units, so that the check and the error message that
/// states the range come from the same place. Bounds tables: `OptionBounds` (guests and
/// migrations), `ScenarioBounds` (scenario files).
public struct InputBound: Sendable {
    /// What kind of quantity the input is, which says how its text is parsed.
    public enum Kind: Sendable {
        case bytes, bytesPerSecond, seconds, count

        /// The value `text` stands for, in bytes, bytes/s, seconds or a plain number.
        public func parse(_ text: String) -> Double? {
            switch self {
            case .bytes: Quantities.bytes(text)
            case .bytesPerSecond: Quantities.bytesPerSecond(text)
            case .seconds: Quantities.seconds(text)
            case .count: Quantities.number(text)
            }
        }

        var expected: String {
            switch self {
            case .bytes: "a size such as 256MiB or 1G"
            case .bytesPerSecond: "a bandwidth such as 1Gbit/s or 100MB/s"
            case .seconds: "a duration such as 300ms or 5s"
            case .count: "a number"
            }
        }
    }

    /// How errors name the input: `--bandwidth`, `link.bandwidth`.
    public let name: String
    public let kind: Kind
    /// The allowed values, in bytes, bytes/s, seconds or plain units.
    public let range: ClosedRange<Double>
    /// The range as the error states it: "from 1Mbit/s to 1Tbit/s".
    public let allowed: String
    /// A value must be a whole multiple of this (2 MiB for guest memory), if set.
    public let multiple: Double?

    /// A bound whose ends are written with units (`from: "1Mbit/s", to: "1Tbit/s"`); the ends
    /// must parse as `kind` (a test checks every table).
    public init(_ name: String, _ kind: Kind, from lower: String, to upper: String, multipleOf multiple: String? = nil) {
        self.name = name
        self.kind = kind
        let low = kind.parse(lower) ?? .nan
        let high = kind.parse(upper) ?? .nan
        precondition(low <= high, "InputBound \(name): '\(lower)' to '\(upper)' is not a range of \(kind)")
        range = low ... high
        self.multiple = multiple.flatMap(kind.parse)
        allowed = "from \(lower) to \(upper)" + (multiple.map { " in steps of \($0)" } ?? "")
    }

    /// The same bound under another name (a scenario key and the option it mirrors).
    public func named(_ newName: String) -> InputBound {
        InputBound(name: newName, kind: kind, range: range, allowed: allowed, multiple: multiple)
    }

    private init(name: String, kind: Kind, range: ClosedRange<Double>, allowed: String, multiple: Double?) {
        self.name = name
        self.kind = kind
        self.range = range
        self.allowed = allowed
        self.multiple = multiple
    }

    /// The value `text` stands for, when it parses and lies within the bound.
    public func value(_ text: String) throws(InputBoundError) -> Double {
        guard let value = kind.parse(text) else {
            throw InputBoundError("\(name) \(text): not \(kind.expected); allowed \(allowed)")
        }
        return try check(value, written: text)
    }

    /// `value` itself when it lies within the bound (NaN and infinities never do); `written`
    /// is how the user wrote it, for the error.
    @discardableResult
    public func check(_ value: Double, written: String) throws(InputBoundError) -> Double {
        guard value.isFinite, range.contains(value) else {
            throw InputBoundError("\(name) \(written): out of range; allowed \(allowed)")
        }
        if let multiple, value.truncatingRemainder(dividingBy: multiple) != 0 {
            throw InputBoundError("\(name) \(written): not a whole multiple; allowed \(allowed)")
        }
        return value
    }

    /// A whole number within the bound (whole bytes for a size); `Int`, never a trap.
    public func wholeNumber(_ text: String) throws(InputBoundError) -> Int {
        let value = try value(text)
        guard let whole = CheckedConversion.wholeInt(value) else {
            throw InputBoundError("\(name) \(text): not a whole number\(kind == .bytes ? " of bytes" : ""); allowed \(allowed)")
        }
        return whole
    }

    /// An integer option (parsed by the command line) checked against the bound.
    @discardableResult
    public func check(_ value: Int) throws(InputBoundError) -> Int {
        try check(Double(value), written: String(value))
        return value
    }
}

/// A value outside its `InputBound`: one line naming the input, the value and the range.
public struct InputBoundError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
