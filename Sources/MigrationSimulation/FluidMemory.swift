#if canImport(Glibc)
import Glibc
#endif
import MigrationCore

/// The fluid model's guest memory: the expected dirty share of each region since the last
/// dirty-log clear, advanced in closed form.
struct FluidMemory: SimulatedMemory {
    let regions: FluidRegions
    private var dirtyShare: [Double]
    private var phaseIndex = 0

    init(regions: FluidRegions) {
        self.regions = regions
        dirtyShare = [Double](repeating: 0, count: regions.pageCounts.count)
    }

    mutating func advance(from startSeconds: Double, to endSeconds: Double, rateScale: Double) {
        var start = startSeconds
        while start < endSeconds {
            while regions.phases[phaseIndex].endSeconds <= start { phaseIndex += 1 }
            let phase = regions.phases[phaseIndex]
            let end = min(endSeconds, phase.endSeconds)
            let span = (end - start) * rateScale
            for index in dirtyShare.indices {
                let (growth, rate) = phase.rates[index]
                guard rate > 0 else { continue }
                switch growth {
                case .poisson: dirtyShare[index] = 1 - (1 - dirtyShare[index]) * exp(-rate * span)
                case .sweep: dirtyShare[index] = min(1, dirtyShare[index] + rate * span)
                }
            }
            start = end
        }
    }

    func peek() -> FluidDirtyLog {
        // Over the indices, with the two arrays read directly (the zip's sequence wrapper
        // around them cost more than the multiplications here).
        let pageCounts = regions.pageCounts
        return FluidDirtyLog(dirtyPages: dirtyShare.indices.map { dirtyShare[$0] * pageCounts[$0] })
    }

    mutating func clear() {
        for index in dirtyShare.indices { dirtyShare[index] = 0 }
    }
}
