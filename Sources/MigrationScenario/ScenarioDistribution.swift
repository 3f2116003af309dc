import Foundation
import MigrationCore
import MigrationSimulation

/// A scenario value that is a distribution instead of a number (Monte Carlo): each simulation
/// draws one value. Written where the number would be, in its unit, all arguments in one unit:
///
/// - `normal(MEAN, SD)`: normal, truncated at zero (a draw at or below 0 is drawn again);
/// - `lognormal(MEAN, SD)`: lognormal with that mean and standard deviation (not its log's);
/// - `uniform(LOW, HIGH)`: uniform on [LOW, HIGH);
/// - `empirical(V1, V2, ...)`: one of the values, each equally likely (a measured sample);
/// - `empirical(file: PATH)`: the same, with the values from a file (`EmpiricalSamples`: one per
///   line, or the dirty rates of a trace `livemig observe` wrote).
///
/// `normal(1Gbit/s, 100Mbit/s)` is refused (two units); `normal(1000Mbit/s, 100Mbit/s)` is
/// right. Draws for the keys that take whole numbers (`wholeNumberKeys`) are rounded; others
/// keep their fraction. Draws come from GSL (MT19937,
/// `gsl_ran_gaussian`, `gsl_ran_lognormal`, `gsl_ran_flat`).
public struct ScenarioDistribution: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case normal, lognormal, uniform, empirical }

    public var kind: Kind
    public var arguments: [Double]
    public var unit: String
    /// Draws are rounded to whole numbers.
    public var whole: Bool

    /// The scenario keys whose values are whole numbers (docs/scenario-format.md).
    public static let wholeNumberKeys: Set<String> = ["policy.maxIterations", "policy.fallbackRounds", "policy.targetDirtyPages",
                                                      "migration.batchPages", "migration.streams", "source.cores"]

    /// Redraws of a truncated normal before giving up (a mean far below zero).
    static let maxRedraws = 1000

    /// The distribution `text` describes, nil when it is not one (a plain value); throws when it
    /// looks like one but is malformed. `key` names the value in errors.
    /// `baseDirectory` anchors `empirical(file: PATH)`.
    public static func parse(_ text: String, key: String, baseDirectory: String = ".") throws(ScenarioError) -> ScenarioDistribution? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.firstIndex(of: "("), trimmed.hasSuffix(")") else { return nil }
        let name = String(trimmed[..<open]).trimmingCharacters(in: .whitespaces)
        // Only the four names: any other text (a description "Overload(peak)") is left alone.
        guard let kind = Kind(rawValue: name) else { return nil }
        let inside = trimmed[trimmed.index(after: open) ..< trimmed.index(before: trimmed.endIndex)]
        let argument = inside.trimmingCharacters(in: .whitespaces)
        if kind == .empirical, argument.hasPrefix("file:") {
            let path = argument.dropFirst("file:".count).trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty else { throw ScenarioError("\(key): \(trimmed): name the file (empirical(file: rates.txt))") }
            let samples = try EmpiricalSamples.load(path, baseDirectory: baseDirectory, key: key)
            let distribution = ScenarioDistribution(kind: kind, arguments: samples.values, unit: samples.unit, whole: wholeNumberKeys.contains(key))
            try distribution.check(key: key, text: trimmed)
            return distribution
        }
        let parts = inside.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let numbers: [Double], unit: String
        do {
            (numbers, unit) = try NumberWithUnit.splitSharingOneUnit(parts)
        } catch {
            switch error {
            case .notANumber(let index):
                throw ScenarioError("\(key): \(trimmed): '\(parts[index])' is not a number with an optional unit")
            case .mixedUnits(_, let units):
                throw ScenarioError("\(key): \(trimmed): every argument needs the same unit (\(units.map { "'\($0)'" }.joined(separator: ", ")))")
            }
        }
        let distribution = ScenarioDistribution(kind: kind, arguments: numbers, unit: unit, whole: wholeNumberKeys.contains(key))
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
            guard !arguments.isEmpty, arguments.count <= 10_000_000 else { throw fail("empirical takes 1 to 10,000,000 values") }
        }
    }

    /// The distribution's centre, as scenario text: the mean (normal, lognormal), the midpoint
    /// (uniform) or the median value (empirical). What a sweep checks each point with before
    /// any run draws.
    public var centre: String {
        let value: Double = switch kind {
        case .normal, .lognormal: arguments[0]
        case .uniform: arguments[0] / 2 + arguments[1] / 2
        case .empirical: arguments.sorted()[arguments.count / 2]
        }
        return NumberWithUnit.format(whole ? value.rounded() : value) + unit
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
        return NumberWithUnit.format(whole ? value.rounded() : value) + unit
    }
}

private extension Double {
    var logValue: Double { Foundation.log(self) }
}
