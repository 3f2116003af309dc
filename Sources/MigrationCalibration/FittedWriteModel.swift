#if canImport(Glibc)
import Glibc
#endif
import MigrationSimulation

/// A write model fitted to an observation, in the simulator's vocabulary, with what it rests on.
public struct FittedWriteModel: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        case idle, uniform, hotCold, sequential
    }

    public var kind: Kind
    /// Where the working set lies: one block (`contiguous`) or spread over memory.
    public var placement: WorkingSetPlacement
    /// Pages written to: the whole working set (the hot set included, for `hotCold`).
    public var workingSetPages: Int
    /// `hotCold`: the pages written often.
    public var hotPages: Int
    /// Page writes per second: the working set's (`uniform`, `sequential`) or the hot set's.
    public var ratePagesPerSecond: Double
    /// `hotCold`: page writes per second over the rest of the working set.
    public var coldRatePagesPerSecond: Double
    /// The standard deviation of the rate from one stretch of the observation to the next (the
    /// hot set's, for `hotCold`): how far one migration's dirtying may differ from the mean.
    public var rateSpreadPagesPerSecond: Double

    /// The workload the simulator runs for this model.
    public var workload: Workload {
        switch kind {
        case .idle: .idle
        case .uniform: .uniform(workingSetPages: workingSetPages, ratePagesPerSecond: ratePagesPerSecond)
        case .hotCold: .hotCold(workingSetPages: workingSetPages, hotPages: hotPages, hotRatePagesPerSecond: ratePagesPerSecond,
                                coldRatePagesPerSecond: coldRatePagesPerSecond)
        case .sequential: .sequential(regionPages: workingSetPages, ratePagesPerSecond: ratePagesPerSecond)
        }
    }

    /// Distinct pages the model dirties in `seconds`, in expectation: Poisson writes spread
    /// uniformly over a set of W pages leave W (1 - e^(-rate t / W)) of them dirty; a sweep
    /// dirties what it passes, up to its whole region.
    public func expectedDirtyPages(in seconds: Double) -> Double {
        func poisson(_ pages: Int, _ rate: Double) -> Double {
            guard pages > 0, rate > 0 else { return 0 }
            return Double(pages) * -expm1(-rate * seconds / Double(pages))
        }
        switch kind {
        case .idle: return 0
        case .uniform: return poisson(workingSetPages, ratePagesPerSecond)
        case .hotCold: return poisson(hotPages, ratePagesPerSecond) + poisson(workingSetPages - hotPages, coldRatePagesPerSecond)
        case .sequential: return min(Double(workingSetPages), ratePagesPerSecond * seconds)
        }
    }
}
