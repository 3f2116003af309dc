/// A scenario that cannot be used: names the file, the key and the problem.
public struct ScenarioError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
