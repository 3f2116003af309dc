/// Parsers for the quantities scenario files write with units: sizes (`4KiB`, `1GiB`, `1GB`),
/// bandwidths (`1Gbit/s`, `125MB/s`), durations (`0.2ms`, `5s`) and page rates. Each returns
/// `nil` for text it does not recognise; the caller names the key in its error.
public enum Quantities {
    private static let sizeUnits: [(suffix: String, bytes: Double)] = [
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
        ("kB", 1e3), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ]

    private static let bitUnits: [(suffix: String, bitsPerSecond: Double)] = [
        ("Tbit/s", 1e12), ("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3), ("Kbit/s", 1e3), ("bit/s", 1),
    ]

    private static let timeUnits: [(suffix: String, seconds: Double)] = [
        ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("min", 60), ("h", 3600), ("s", 1),
    ]

    /// Splits "12.5MiB" into 12.5 and "MiB" when the suffix is one of `suffixes`.
    private static func number(_ text: String, suffix: String) -> Double? {
        guard text.hasSuffix(suffix) else { return nil }
        let digits = text.dropLast(suffix.count).trimmingSpaces()
        guard let value = Double(digits), value.isFinite else { return nil }
        return value
    }

    /// Bytes, from a size with a unit, or a bare number of bytes.
    public static func bytes(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = Double(trimmed) { return value }
        for unit in sizeUnits { if let value = number(trimmed, suffix: unit.suffix) { return value * unit.bytes } }
        return nil
    }

    /// Bytes per second, from `1Gbit/s`, `125MB/s`, `1GiB/s` or a bare number of bytes/s.
    public static func bytesPerSecond(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = Double(trimmed) { return value }
        for unit in bitUnits { if let value = number(trimmed, suffix: unit.suffix) { return value * unit.bitsPerSecond / 8 } }
        guard trimmed.hasSuffix("/s") else { return nil }
        return bytes(String(trimmed.dropLast(2)))
    }

    /// Seconds, from `0.2ms`, `5s`, `2min`, or a bare number of seconds.
    public static func seconds(_ text: String) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = Double(trimmed) { return value }
        for unit in timeUnits { if let value = number(trimmed, suffix: unit.suffix) { return value * unit.seconds } }
        return nil
    }

    /// Pages, from a size with a unit (divided by the page size) or a bare number of pages.
    public static func pages(_ text: String, pageSizeBytes: Int) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = Double(trimmed) { return value }
        if let value = number(trimmed, suffix: "pages") { return value }
        return bytes(trimmed).map { $0 / Double(pageSizeBytes) }
    }

    /// Pages per second, from a bare number, `N pages/s`, or a byte rate such as `80MiB/s`.
    public static func pagesPerSecond(_ text: String, pageSizeBytes: Int) -> Double? {
        let trimmed = text.trimmingSpaces()
        if let value = Double(trimmed) { return value }
        if let value = number(trimmed, suffix: "pages/s") { return value }
        return bytesPerSecond(trimmed).map { $0 / Double(pageSizeBytes) }
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
