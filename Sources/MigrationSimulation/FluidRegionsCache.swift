import Synchronization

/// The fluid regions of the workload simulated last, kept for the next run: a sweep runs each
/// point's workload many times (seeds, and knobs that leave the workload alone), and cutting
/// memory into regions cost a tenth of a fluid scenario. One entry per process, behind a lock;
/// regions are immutable, so a hit hands out the same value any thread would compute.
enum FluidRegionsCache {
    private static let last = Mutex<(workload: Workload, guestPages: Int, regions: FluidRegions)?>(nil)

    static func regions(for workload: Workload, guestPages: Int) throws(SimulationError) -> FluidRegions {
        if case .trace = workload { return try FluidRegions(workload: workload, guestPages: guestPages) }
        if let hit = last.withLock({ entry in entry.flatMap { $0.guestPages == guestPages && $0.workload == workload ? $0.regions : nil } }) {
            return hit
        }
        let regions = try FluidRegions(workload: workload, guestPages: guestPages)
        last.withLock { $0 = (workload, guestPages, regions) }
        return regions
    }
}
