import MigrationCore

/// The allowed range of each number a scenario file holds (docs/scenario-format.md states
/// them). Generous for what-if studies, but each value stays where the simulator's arithmetic
/// holds: no infinite time, no write count beyond an `Int`, no loop over 10^18 writes. The
/// policy keys use `PolicyBounds`, the same as `livemig migrate`'s options.
enum ScenarioBounds {
    /// The share of guest memory that is zero pages (`guest.zeroShare`).
    static let zeroShare = InputBound("zeroShare", .count, from: "0", to: "1")
    /// What compression shrinks data pages to (`guest.compressRatio`): 1 % to 100 %.
    static let compressRatio = InputBound("compressRatio", .count, from: "0.01", to: "1")
    /// What an XBZRLE delta shrinks a page sent before to (`guest.deltaRatio`): 0.1 % to 100 %.
    static let deltaRatio = InputBound("deltaRatio", .count, from: "0.001", to: "1")
    /// Link bandwidths and the rate limit (a profile step may be 0: the link stalls).
    static let bandwidth = InputBound("bandwidth", .bytesPerSecond, from: "0", to: "1000Tbit/s")
    /// Every duration: latencies, costs, failure time, phase lengths, the time limit.
    static let duration = InputBound("duration", .seconds, from: "0", to: "8760h")
    static let deviceState = InputBound("deviceState", .bytes, from: "0", to: "1GiB")
    /// Page writes per second: 10^9 pages/s is 4 TB/s of writes, beyond any guest's memory.
    static let pageRate = InputBound("page rate", .count, from: "0", to: "1000000000")
    static let zipfExponent = InputBound("exponent", .count, from: "0", to: "100")
    /// The share of the bandwidth and the rate limit transfers achieve (`link.efficiency`).
    static let efficiency = InputBound("efficiency", .count, from: "0.01", to: "1")
}
