import MigrationCore

/// What an operator does to a migration at a moment of simulated time (a scenario's `events:`):
/// the same `SourceEvent`s `livemig job NAME --set` and `--cancel` hand a real migration's engine,
/// so a capacity planner can ask "what if the cap is lifted at 5 s?" of the same rules.
public struct OperatorEvent: Sendable, Equatable {
    /// Seconds from the start of the migration.
    public var atSeconds: Double
    public var event: SourceEvent

    public init(atSeconds: Double, event: SourceEvent) {
        self.atSeconds = atSeconds
        self.event = event
    }

    /// A scenario holds at most this many (each costs an event in the run).
    public static let maxCount = 1000
}
