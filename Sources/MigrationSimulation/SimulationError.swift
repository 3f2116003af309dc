/// A simulation that cannot run as configured: names the setting and the problem.
public struct SimulationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
