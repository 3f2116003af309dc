import MigrationCore

/// A threshold `livemig tune` may set, and the values its first, coarse pass tries: spread over
/// the key's useful range (geometric where the effect is multiplicative). The refinement then
/// tries between the best value and its neighbours.
public struct TuneKnob: Sendable, Equatable, Codable {
    public var key: String
    /// Coarse values as scenario text, ascending.
    public var values: [String]
    /// Values are whole numbers (refinement stays whole).
    public var whole: Bool
    /// The unit the values are written in ("" for plain numbers).
    public var unit: String

    /// The built-in grids: the keys the issue names and the policies use.
    public static func builtIn(_ key: String, linkBytesPerSecond: Double) throws(HostFailure) -> TuneKnob {
        switch key {
        case "policy.maxIterations":
            return TuneKnob(key: key, values: ["1", "2", "3", "5", "8", "12", "20", "29", "45"], whole: true, unit: "")
        case "policy.targetDirtyPages":
            return TuneKnob(key: key, values: ["0", "10", "50", "200", "1000", "5000", "20000"], whole: true, unit: "")
        case "policy.downtimeLimit":
            return TuneKnob(key: key, values: ["10", "30", "100", "300", "1000", "3000"].map { $0 + "ms" }, whole: true, unit: "ms")
        case "policy.maxFactor":
            return TuneKnob(key: key, values: ["1", "1.5", "2", "3", "5", "8"], whole: false, unit: "")
        case "policy.fallbackRounds":
            return TuneKnob(key: key, values: ["0", "2", "3", "5", "8", "12"], whole: true, unit: "")
        case "migration.rateLimit":
            // Shares of the link: a cap leaves the rest of it to other traffic.
            let rates = [0.25, 0.5, 0.75, 1.0].map { Int64(($0 * linkBytesPerSecond).rounded()) }
            return TuneKnob(key: key, values: rates.map { "\($0)B/s" }, whole: true, unit: "B/s")
        default:
            throw HostFailure("--knobs \(key): no built-in range; give one with --knob \(key)=V1,V2,... (the knobs with ranges: \(builtInKeys.joined(separator: ", ")))")
        }
    }

    public static let builtInKeys = ["policy.maxIterations", "policy.targetDirtyPages", "policy.downtimeLimit", "policy.maxFactor",
                                     "policy.fallbackRounds", "migration.rateLimit"]

    /// The knobs a policy uses (`docs/scenario-format.md`, Policies), and the rate limit.
    public static func defaultKeys(for policy: PolicyName) -> [String] {
        switch policy {
        case .xen3: ["policy.maxIterations", "policy.maxFactor", "migration.rateLimit"]
        case .xen4: ["policy.maxIterations", "policy.targetDirtyPages", "migration.rateLimit"]
        case .qemu, .timeout: ["policy.downtimeLimit", "policy.fallbackRounds", "migration.rateLimit"]
        }
    }

    public init(key: String, values: [String], whole: Bool, unit: String) {
        self.key = key
        self.values = values
        self.whole = whole
        self.unit = unit
    }

    /// A knob from `--knob KEY=V1,V2,...` (values as scenario text, one unit, ascending).
    public init(axis: SweepAxis) throws(HostFailure) {
        let numbers: [Double], unit: String
        do {
            (numbers, unit) = try NumberWithUnit.splitSharingOneUnit(axis.values)
        } catch {
            if case .notANumber(let index) = error {
                throw HostFailure("--knob \(axis.key): '\(axis.values[index])' is not a number with an optional unit")
            }
            throw HostFailure("--knob \(axis.key): give distinct values in one unit, ascending")
        }
        guard numbers == numbers.sorted(), Set(numbers).count == numbers.count else {
            throw HostFailure("--knob \(axis.key): give distinct values in one unit, ascending")
        }
        self.init(key: axis.key, values: axis.values, whole: numbers.allSatisfy { $0 == $0.rounded() }, unit: unit)
    }

    func number(_ text: String) -> Double? { NumberWithUnit.split(text)?.value }

    /// Values halfway between `value` and its neighbours in `values` (for the refinement).
    func between(_ value: String) -> [String] {
        guard let index = values.firstIndex(of: value), let centre = number(value) else { return [] }
        var found: [String] = []
        for neighbour in [index - 1, index + 1] where values.indices.contains(neighbour) {
            guard let other = number(values[neighbour]) else { continue }
            var middle = centre / 2 + other / 2  // never overflows to infinity
            if whole { middle = middle.rounded() }
            let text = NumberWithUnit.format(middle) + unit
            if middle != centre, middle != other, !found.contains(text) { found.append(text) }
        }
        return found
    }
}
