import MigrationCore

/// One varied scenario key and the values it takes, from `--vary KEY=V1,V2,...` (a list, each
/// value written as in a scenario file) or `--vary KEY=A..B/N` (N values evenly from A to B,
/// both ends included, in A's unit: `link.bandwidth=100Mbit/s..1Gbit/s/10` is not allowed, the
/// ends must share a unit: `100Mbit/s..1000Mbit/s/10`).
public struct SweepAxis: Sendable, Equatable, Codable {
    public var key: String
    /// The values as scenario text (`--set KEY=VALUE` for each).
    public var values: [String]

    /// The most values one axis may take (a sweep is their product: see `SweepPlan.maxPoints`).
    public static let maxValues = 10_000

    public init(key: String, values: [String]) {
        self.key = key
        self.values = values
    }

    /// Parses `KEY=V1,V2,...` or `KEY=A..B/N`.
    public init(parsing text: String) throws(HostFailure) {
        guard let equals = text.firstIndex(of: "=") else {
            throw HostFailure("--vary \(text): expected KEY=V1,V2,... or KEY=A..B/N, e.g. link.bandwidth=1Gbit/s,10Gbit/s")
        }
        key = String(text[..<equals]).trimmingSpaces()
        let spec = String(text[text.index(after: equals)...])
        guard !key.isEmpty, !key.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            throw HostFailure("--vary \(text): the key is empty")
        }
        // A range only when a number leads it: "../t/a,../t/b" is a list of paths.
        if let dots = spec.range(of: ".."), NumberWithUnit.split(String(spec[..<dots.lowerBound])) != nil {
            values = try Self.range(from: String(spec[..<dots.lowerBound]), rest: String(spec[dots.upperBound...]), text: text)
        } else {
            values = Self.topLevelItems(spec).map { $0.trimmingSpaces() }
            guard !values.contains(where: \.isEmpty) else {
                throw HostFailure("--vary \(text): an empty value in the list")
            }
        }
        guard values.count <= Self.maxValues else {
            throw HostFailure("--vary \(text): \(values.count) values; at most \(Self.maxValues) per key")
        }
    }

    /// The comma-separated items of `text`, commas inside parentheses kept (a distribution
    /// such as `uniform(1Gbit/s, 2Gbit/s)` is one value).
    static func topLevelItems(_ text: String) -> [String] {
        var items: [String] = [], current = "", depth = 0
        for character in text {
            switch character {
            case "(": depth += 1
            case ")": depth = max(0, depth - 1)
            case "," where depth == 0:
                items.append(current)
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        return items + [current]
    }

    /// A number and its unit, or an error quoting the whole `--vary`.
    private static func quantity(_ text: String, text whole: String) throws(HostFailure) -> (Double, String) {
        guard let (value, unit) = NumberWithUnit.split(text) else {
            throw HostFailure("--vary \(whole): '\(text.trimmingSpaces())' is not a number with an optional unit")
        }
        return (value, unit)
    }

    /// `A..B/N`: N values from A to B in A's unit.
    private static func range(from low: String, rest: String, text: String) throws(HostFailure) -> [String] {
        guard let slash = rest.lastIndex(of: "/"), let count = Int(rest[rest.index(after: slash)...].trimmingSpaces()) else {
            throw HostFailure("--vary \(text): a range needs its number of values: A..B/N, e.g. 5..30/6")
        }
        guard (1 ... maxValues).contains(count) else {
            throw HostFailure("--vary \(text): \(count) values; a range takes 1 to \(maxValues)")
        }
        let (start, unit) = try quantity(low, text: text)
        let (end, endUnit) = try quantity(String(rest[..<slash]), text: text)
        guard (end - start).isFinite else { throw HostFailure("--vary \(text): the range is too wide to divide") }
        guard unit == endUnit else {
            throw HostFailure("--vary \(text): both ends need the same unit ('\(unit)' and '\(endUnit)')")
        }
        guard count > 1 else {
            guard start == end else { throw HostFailure("--vary \(text): one value cannot span \(low) to \(rest[..<slash])") }
            return [NumberWithUnit.format(start) + unit]
        }
        let whole = start == start.rounded() && end == end.rounded() && (end - start).truncatingRemainder(dividingBy: Double(count - 1)) == 0
        return (0 ..< count).map { index in
            let value = start + (end - start) * Double(index) / Double(count - 1)
            return NumberWithUnit.format(whole ? value.rounded() : value) + unit
        }
    }
}
