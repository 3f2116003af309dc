import MigrationCore
import MigrationSimulation

/// A what-if study's input: a named simulation setting, read from a scenario file.
public struct Scenario: Sendable {
    public var name: String
    public var summary: String?
    public var config: SimulationConfig
}
