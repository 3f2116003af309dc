import MigrationCore
@testable import MigrationSimulation

/// Small builders shared by the simulator tests.
enum Fixtures {
    static let gib = 1 << 30
    static let mib = 1 << 20

    /// Host costs of zero, so that hand-computed times are exact.
    static let freeCosts = HostCosts(dirtyLogReadSecondsPerGiB: 0, dirtyLogPeekSecondsPerGiB: 0, pageCopySecondsPerPage: 0, pauseSeconds: 0,
                                     resumeSeconds: 0, deviceStateBytes: 0)

    static func config(memoryBytes: Int, workload: Workload, bytesPerSecond: Double = 125_000_000,
                       policy: PolicyConfiguration, fidelity: Fidelity = .page, seed: UInt64 = 1) -> SimulationConfig {
        SimulationConfig(guestMemoryBytes: memoryBytes, workload: workload,
                         link: LinkModel(bytesPerSecond: bytesPerSecond, latencySeconds: 0.0002),
                         policy: policy, fidelity: fidelity, seed: seed)
    }

    /// A guest that dirties faster than a 1 Gbit/s link carries: 512 MiB, 128 MiB rewritten at
    /// 100,000 pages/s (about 400 MB/s against 125 MB/s).
    static func hog(policy: PolicyConfiguration, fidelity: Fidelity = .page, seed: UInt64 = 3) -> SimulationConfig {
        config(memoryBytes: 512 * mib, workload: .uniform(workingSetPages: 32_768, ratePagesPerSecond: 100_000),
               policy: policy, fidelity: fidelity, seed: seed)
    }
}
