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

    /// Fluid fidelity, over regions already cut. Under QEMU's rule (`qemu`, `timeout`), which
    /// syncs the dirty log between batches once the pages pending fall under its threshold,
    /// each round's last segment is sent in halves, so that the rule sees the pending count
    /// cross its threshold about where page-level batches do.
    static func fluid(_ regions: FluidRegions, policy: PolicyName) -> (memory: FluidMemory, tracker: FluidPageTracker) {
        (FluidMemory(regions: regions),
         FluidPageTracker(regionPages: regions.pageCounts, sweepRegions: regions.sweepRegions, refinesRoundEnds: policy == .qemu || policy == .timeout))
    }
}
