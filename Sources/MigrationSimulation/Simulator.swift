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
            let random = GSLRandom(seed: config.seed)
            let layout = PageLayout(pageCount: config.guestPages)
            let writer = try PageWriterFactory.make(config.workload, layout: layout, random: random)
            var run = SimulationRun(
                config: config, memory: PageMemory(pageCount: config.guestPages, writer: writer),
                tracker: BitmapPageTracker(pageCount: config.guestPages, collectsPageNumbers: false))
            let outcome = run.run()
            return SimulationResult(report: outcome.report, sourceGuestRunning: outcome.sourceRunning,
                                    sourceResumeCount: outcome.resumeCount)
        case .fluid:
            let regions = try FluidRegionsCache.regions(for: config.workload, guestPages: config.guestPages)
            var run = SimulationRun(
                config: config, memory: FluidMemory(regions: regions),
                tracker: FluidPageTracker(regionPages: regions.pageCounts))
            let outcome = run.run()
            return SimulationResult(report: outcome.report, sourceGuestRunning: outcome.sourceRunning,
                                    sourceResumeCount: outcome.resumeCount)
        }
    }
}
