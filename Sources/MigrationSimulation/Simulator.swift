import MigrationCore

/// What a simulated migration produced.
public struct SimulationResult: Sendable {
    /// The engine's report, with the seed and fidelity filled in.
    public var report: MigrationReport
    /// Whether the guest still runs on the source at the end (true after an abort).
    public var sourceGuestRunning: Bool
    /// How many times the source guest was resumed (at most once).
    public var sourceResumeCount: Int
}

/// Predicts a migration: runs the engine core against simulated guest memory and a simulated
/// link on virtual time. One seed reproduces a run exactly.
public enum Simulator {
    public static func run(_ config: SimulationConfig) throws(SimulationError) -> SimulationResult {
        try config.validate()
        switch config.fidelity {
        case .page:
            let parts = try SimulatedParts.page(config)
            var run = SimulationRun(config: config, memory: parts.memory, tracker: parts.tracker)
            return result(run.run())
        case .fluid:
            let parts = SimulatedParts.fluid(try FluidRegionsCache.regions(for: config.workload, guestPages: config.guestPages),
                                             policy: config.policy.name)
            var run = SimulationRun(config: config, memory: parts.memory, tracker: parts.tracker)
            return result(run.run())
        }
    }

    private static func result(_ outcome: (report: MigrationReport, sourceRunning: Bool, resumeCount: Int)) -> SimulationResult {
        SimulationResult(report: outcome.report, sourceGuestRunning: outcome.sourceRunning, sourceResumeCount: outcome.resumeCount)
    }
}
