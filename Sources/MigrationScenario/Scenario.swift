import MigrationCore
import MigrationSimulation

/// A what-if study's input: a named simulation setting, read from a scenario file.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String?
    public var config: SimulationConfig
    /// Values that were distributions, and what this scenario drew for them (key: text).
    public var drawnValues: [String: String] = [:]
    /// Whether the file has distributions: every seed draws its own values.
    public var hasDistributions: Bool { !drawnValues.isEmpty }
}
