import Foundation
import MigrationSimulation

/// A scenario value that is a distribution instead of a number (Monte Carlo): each simulation
/// draws one value. Written where the number would be, in its unit, all arguments in one unit:
///
/// - `normal(MEAN, SD)`: normal, truncated at zero (a draw at or below 0 is drawn again);
/// - `lognormal(MEAN, SD)`: lognormal with that mean and standard deviation (not its log's);
/// - `uniform(LOW, HIGH)`: uniform on [LOW, HIGH);
/// - `empirical(V1, V2, ...)`: one of the values, each equally likely (a measured sample).
///
/// `normal(1Gbit/s, 100Mbit/s)` is refused (two units); `normal(1000Mbit/s, 100Mbit/s)` is
/// right. When every argument is a bare whole number (no unit, no decimal point), draws are
/// rounded to whole numbers (for counts such as `policy.maxIterations`). Draws come from GSL (MT19937,
/// `gsl_ran_gaussian`, `gsl_ran_lognormal`, `gsl_ran_flat`).
public struct ScenarioDistribution: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case normal, lognormal, uniform, empirical }

    public var kind: Kind
    public var arguments: [Double]
    public var unit: String
    /// Draws are rounded to whole numbers.
    public var whole: Bool

    /// Redraws of a truncated normal before giving up (a mean far below zero).
    static let maxRedraws = 1000

    /// The distribution `text` describes, nil when it is not one (a plain value); throws when it
    /// looks like one but is malformed. `key` names the value in errors.
    public static func parse(_ text: String, key: String) throws(ScenarioError) -> ScenarioDistribution? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") else { return nil }
        let name = String(trimmed[..<open]).trimmingCharacters(in: .whitespaces)
        guard let kind = Kind(rawValue: name) else {
            guard name.allSatisfy(\.isLetter), !name.isEmpty else { return nil }
            throw ScenarioError("\(key): '\(name)' is not a distribution (\(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let inside = trimmed[trimmed.index(after: open) ..< trimmed.index(before: trimmed.endIndex)]
        let parts = inside.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var numbers: [Double] = []
        var units = Set<String>()
        var whole = true
        for part in parts {
            let number = part.prefix { "0123456789.+-eE".contains($0) }
            guard let value = Double(number), value.isFinite else {
                throw ScenarioError("\(key): \(trimmed): '\(part)' is not a number with an optional unit")
            }
            numbers.append(value)
            units.insert(String(part.dropFirst(number.count)).trimmingCharacters(in: .whitespaces))
            if number.contains(where: { ".eE".contains($0) }) { whole = false }
        }
        guard units.count == 1, let unit = units.first else {
            throw ScenarioError("\(key): \(trimmed): every argument needs the same unit (\(units.sorted().map { "'\($0)'" }.joined(separator: ", ")))")
        }
        let distribution = ScenarioDistribution(kind: kind, arguments: numbers, unit: unit, whole: whole && unit.isEmpty)
        try distribution.check(key: key, text: trimmed)
        return distribution
    }

    private func check(key: String, text: String) throws(ScenarioError) {
        func fail(_ problem: String) -> ScenarioError { ScenarioError("\(key): \(text): \(problem)") }
        switch kind {
        case .normal, .lognormal:
            guard arguments.count == 2 else { throw fail("\(kind.rawValue) takes MEAN, SD") }
            guard arguments[1] >= 0 else { throw fail("the standard deviation must not be negative") }
            guard kind == .normal || arguments[0] > 0 else { throw fail("a lognormal's mean must be positive") }
        case .uniform:
            guard arguments.count == 2 else { throw fail("uniform takes LOW, HIGH") }
            guard arguments[0] <= arguments[1] else { throw fail("LOW must not be above HIGH") }
        case .empirical:
            guard !arguments.isEmpty, arguments.count <= 1_000_000 else { throw fail("empirical takes 1 to 1,000,000 values") }
        }
    }

    /// One draw, as scenario text in the distribution's unit.
    public func draw(_ random: GSLRandom) throws(ScenarioError) -> String {
        var value: Double
        switch kind {
        case .normal:
            var tries = 0
            repeat {
                value = arguments[0] + random.gaussian(sd: arguments[1])
                if whole { value.round() }
                tries += 1
            } while value <= 0 && tries < Self.maxRedraws
            guard value > 0 else { throw ScenarioError("normal(\(arguments[0]), \(arguments[1])): no positive draw in \(Self.maxRedraws) tries") }
        case .lognormal:
            // The log's parameters from the mean m and standard deviation s of the value itself.
            let variance = (1 + (arguments[1] * arguments[1]) / (arguments[0] * arguments[0])).logValue
            value = random.lognormal(zeta: arguments[0].logValue - variance / 2, sigma: variance.squareRoot())
        case .uniform:
            value = arguments[0] == arguments[1] ? arguments[0] : random.flat(low: arguments[0], high: arguments[1])
        case .empirical:
            value = arguments[random.uniformInt(below: arguments.count)]
        }
        return Self.format(whole ? value.rounded() : value) + unit
    }

    private static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}

private extension Double {
    var logValue: Double { Foundation.log(self) }
}
