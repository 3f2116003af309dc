import MigrationCore

/// A migration's simulated memory and page tracker, per fidelity: what `Simulator` and an
/// evacuation build for each guest before its engine runs.
enum SimulatedParts {
    /// Page fidelity: the guest's writer (seeded from its setting) over page bitmaps.
    static func page(_ config: SimulationConfig) throws(SimulationError) -> (memory: PageMemory, tracker: BitmapPageTracker) {
        let writer = try PageWriterFactory.make(config.workload, layout: PageLayout(pageCount: config.guestPages, placement: config.placement),
                                                random: GSLRandom(seed: config.seed))
        return (PageMemory(pageCount: config.guestPages, writer: writer),
                BitmapPageTracker(pageCount: config.guestPages, collectsPageNumbers: false))
    }

    /// Fluid fidelity, over regions already cut.
    static func fluid(_ regions: FluidRegions) -> (memory: FluidMemory, tracker: FluidPageTracker) {
        (FluidMemory(regions: regions), FluidPageTracker(regionPages: regions.pageCounts))
    }
}
