/// A host's fixed costs of a migration as measured on a running guest (a guest daemon measures
/// them for `calibrate`), for a scenario's `source.*` and `guest.deviceState`.
public struct MeasuredHostCosts: Codable, Sendable, Equatable {
    /// One dirty-log read and clear, per GiB of guest memory.
    public var dirtyLogReadSecondsPerGiB: Double
    /// Pausing the vCPU, until it has left the hypervisor's run loop.
    public var pauseSeconds: Double
    /// The resume call (the vCPU runs again some microseconds later).
    public var resumeSeconds: Double
    /// The vCPU and device state captured.
    public var deviceStateBytes: Int
    /// Reads and pauses the figures are medians of.
    public var samples: Int

    public init(dirtyLogReadSecondsPerGiB: Double, pauseSeconds: Double, resumeSeconds: Double, deviceStateBytes: Int, samples: Int) {
        self.dirtyLogReadSecondsPerGiB = dirtyLogReadSecondsPerGiB
        self.pauseSeconds = pauseSeconds
        self.resumeSeconds = resumeSeconds
        self.deviceStateBytes = deviceStateBytes
        self.samples = samples
    }
}
