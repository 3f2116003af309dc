/// Parsers for the quantities scenario files and options write with units: sizes (`4KiB`,
/// `1GiB`, `1GB`, and `1G` as xl and virsh write memory), bandwidths (`1Gbit/s`, `125MB/s`),
/// durations (`0.2ms`, `5s`) and page rates. Each returns `nil` for text it does not recognise
/// and for values that are not finite (`nan`, `inf`, `1e308TiB`), so that every result can be
/// compared and converted; the caller checks the range (`InputBound`) and names the input.
public enum Quantities {
    private static let sizeUnits: [(suffix: String, bytes: Double)] = [
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
        ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
        // xl's and virsh's memory sizes: a bare K, M, G or T is binary (`memory = 1G`).
        ("K", 1024), ("M", 1_048_576), ("G", 1_073_741_824), ("T", 1_099_511_627_776),
    ]

    private static let bitUnits: [(suffix: String, bitsPerSecond: Double)] = [
        ("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3), ("Kbit/s", 1e3), ("bit/s", 1),
    ]

    private static let timeUnits: [(suffix: String, seconds: Double)] = [
        ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("min", 60), ("h", 3600), ("s", 1),
    ]

    /// A plain finite number (`12.5`, `1e3`); nil for `nan`, `inf` and anything else.
    public static func number(_ text: String) -> Double? {
        guard let value = Double(text.trimmingSpaces()), value.isFinite else { return nil }
        return value
    }

    /// The number before `suffix`, scaled by `scale`, when `text` ends with `suffix` and the
    /// result is finite ("12.5MiB" with "MiB" and 2^20).
    private static func number(_ text: String, before suffix: String, scale: Double) -> Double? {
        guard text.hasSuffix(suffix), let value = number(String(text.dropLast(suffix.count))) else { return nil }
        let scaled = value * scale
        return scaled.isFinite ? scaled : nil
    }

    /// The first of `units` whose suffix `text` has, applied; or `text` as a bare number.
    private static func parse(_ text: String, units: [(suffix: String, scale: Double)]) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = number(trimmed) { return value }
        for unit in units where trimmed.hasSuffix(unit.suffix) {
            return number(trimmed, before: unit.suffix, scale: unit.scale)
        }
        return nil
    }

    /// Bytes, from a size with a unit, or a bare number of bytes.
    public static func bytes(_ text: String) -> Double? {
        parse(text, units: sizeUnits.map { ($0.suffix, $0.bytes) })
    }

    /// Bytes per second, from `1Gbit/s`, `125MB/s`, `1GiB/s` or a bare number of bytes/s.
    public static func bytesPerSecond(_ text: String) -> Double? {
        if let value = parse(text, units: bitUnits.map { ($0.suffix, $0.bitsPerSecond / 8) }) { return value }
        let trimmed = text.trimmingSpaces()
        guard trimmed.hasSuffix("/s"), !trimmed.hasSuffix("bit/s") else { return nil }
        return bytes(String(trimmed.dropLast(2)))
    }

    /// Seconds, from `0.2ms`, `5s`, `2min`, or a bare number of seconds.
    public static func seconds(_ text: String) -> Double? {
        parse(text, units: timeUnits.map { ($0.suffix, $0.seconds) })
    }

    /// Pages, from a size with a unit (divided by the page size) or a bare number of pages.
    public static func pages(_ text: String, pageSizeBytes: Int) -> Double? {
        if let value = parse(text, units: [("pages", 1)]) { return value }
        return bytes(text).map { $0 / Double(pageSizeBytes) }
    }

    /// Pages per second, from a bare number, `N pages/s`, or a byte rate such as `80MiB/s`.
    public static func pagesPerSecond(_ text: String, pageSizeBytes: Int) -> Double? {
        if let value = parse(text, units: [("pages/s", 1)]) { return value }
        return bytesPerSecond(text).map { $0 / Double(pageSizeBytes) }
    }
}

extension StringProtocol {
    /// The text without leading and trailing spaces and tabs (no Foundation in the core).
    public func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
