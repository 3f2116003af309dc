import MigrationCore

/// One mapping of a scenario file being read: hands out its values by key, converting and
/// checking each, and at the end rejects any key nobody asked for. Every error names the file
/// and the full key (`link.bandwidth`).
struct ScenarioSection {
    let file: String
    let path: String
    private let values: [String: Any]
    private var used: Set<String> = []

    init(file: String, path: String, value: Any?) throws(ScenarioError) {
        self.file = file
        self.path = path
        switch value {
        case nil: values = [:]
        case let mapping as [String: Any]: values = mapping
        default: throw ScenarioError("\(file): \(path.isEmpty ? "the file" : path) must be a mapping of keys to values")
        }
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func error(_ name: String, _ problem: String) -> ScenarioError {
        ScenarioError("\(file): \(key(name)): \(problem)")
    }

    func has(_ name: String) -> Bool { values[name] != nil }

    /// The raw value, marked as used.
    mutating func raw(_ name: String) -> Any? {
        used.insert(name)
        return values[name]
    }

    /// The value as text (numbers and booleans included, as written).
    mutating func text(_ name: String) -> String? {
        guard let value = raw(name) else { return nil }
        switch value {
        case let string as String: return string
        case let int as Int: return String(int)
        case let double as Double: return String(double)
        case let bool as Bool: return String(bool)
        default: return "\(value)"
        }
    }

    /// A value converted by `parse` and within `bound`; `expected` says what was wanted, for
    /// the error. `parse` never hands back NaN or an infinity (`Quantities`), and the bound
    /// refuses them too.
    mutating func quantity(_ name: String, expected: String, within bound: InputBound,
                           _ parse: (String) -> Double?) throws(ScenarioError) -> Double? {
        guard let written = text(name) else { return nil }
        guard let value = parse(written), value.isFinite else {
            throw error(name, "'\(written)' is not \(expected)")
        }
        guard value >= 0 || bound.range.lowerBound < 0 else {
            throw error(name, "must not be negative (got \(written))")
        }
        guard bound.range.contains(value) else {
            throw error(name, "'\(written)' is out of range; allowed \(bound.allowed)")
        }
        return value
    }

    mutating func positive(_ name: String, expected: String, within bound: InputBound,
                           _ parse: (String) -> Double?) throws(ScenarioError) -> Double? {
        guard let written = text(name), let value = parse(written), value.isFinite, value <= 0 else {
            return try quantity(name, expected: expected, within: bound, parse)
        }
        throw error(name, "must be greater than 0 (got \(written))")
    }

    mutating func nonNegative(_ name: String, expected: String, within bound: InputBound,
                              _ parse: (String) -> Double?) throws(ScenarioError) -> Double? {
        try quantity(name, expected: expected, within: bound, parse)
    }

    /// A whole number of `unit` (bytes, pages) as an `Int`; the error names the unit.
    func whole(_ name: String, _ value: Double, unit: String) throws(ScenarioError) -> Int {
        guard let whole = CheckedConversion.wholeInt(value) else {
            throw error(name, "is not a whole number of \(unit)")
        }
        return whole
    }

    /// A whole number written as one (`5`, not `5.0` or `5e0`) within `bound`.
    mutating func wholeNumber(_ name: String, within bound: InputBound) throws(ScenarioError) -> Int? {
        guard let written = text(name) else { return nil }
        guard let value = Int(written), bound.range.contains(Double(value)) else {
            throw error(name, "'\(written)' is not a whole number \(bound.allowed)")
        }
        return value
    }

    /// A seed: a whole number from 0 to 2^64-1.
    mutating func seed(_ name: String = "seed") throws(ScenarioError) -> UInt64? {
        guard let text = text(name) else { return nil }
        guard let value = UInt64(text) else { throw error(name, "'\(text)' is not a whole number from 0 to 2^64-1") }
        return value
    }

    mutating func bool(_ name: String) throws(ScenarioError) -> Bool? {
        guard let value = raw(name) else { return nil }
        guard let flag = value as? Bool else { throw error(name, "'\(value)' is not true or false") }
        return flag
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, of: T.Type) throws(ScenarioError) -> T?
    where T.RawValue == String {
        guard let written = text(name) else { return nil }
        guard let value = T(rawValue: written) else {
            let names = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error(name, "'\(written)' is not one of \(names)")
        }
        return value
    }

    mutating func section(_ name: String) throws(ScenarioError) -> ScenarioSection {
        try ScenarioSection(file: file, path: key(name), value: raw(name))
    }

    /// Rejects keys that were never asked for: a misspelt key must not be silently ignored.
    func rejectUnknownKeys() throws(ScenarioError) {
        let unknown = values.keys.filter { !used.contains($0) }.sorted()
        guard let first = unknown.first else { return }
        throw ScenarioError("\(file): \(key(first)): unknown key" + (unknown.count > 1 ? " (also unknown: \(unknown.dropFirst().map(key).joined(separator: ", ")))" : ""))
    }
}
