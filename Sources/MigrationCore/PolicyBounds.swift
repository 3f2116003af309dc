/// The allowed range of each policy setting, whoever sets it: a scenario file (`policy.*`), a
/// `livemig migrate` option, a control request. Beyond these a policy's arithmetic and its
/// report text would meet numbers no migration has (a 1e300 s downtime budget).
public enum PolicyBounds {
    /// QEMU's `downtime-limit` allows up to 2000 s (`MAX_MIGRATE_DOWNTIME_SECONDS`,
    /// migration/options.c); 0 could never be met, so the least is 1 ms.
    public static let downtimeLimit = InputBound("downtime limit", .seconds, from: "1ms", to: "2000s")
    /// A bandwidth cap set while a migration runs (`SourceEvent.setRateLimit`): anything a link
    /// could carry, from one bit a second (the engine divides by it) to 1000 Tbit/s.
    public static let bandwidthCap = InputBound("bandwidth cap", .bytesPerSecond, from: "1bit/s", to: "1000Tbit/s")
    /// libvirt's `--timeout`; a day at most (the simulator's default time limit).
    public static let timeout = InputBound("timeout", .seconds, from: "1ms", to: "24h")
    /// Rounds of the offline fallback; 0 is off.
    public static let fallbackRounds = InputBound("fallback rounds", .count, from: "0", to: "1000000")
    /// Live rounds before the paused one (Xen 3 and 4).
    public static let maxIterations = InputBound("max iterations", .count, from: "1", to: "1000000")
    /// Xen 3's stop once more than this x memory was sent (`DEF_MAX_FACTOR` is 3).
    public static let maxFactor = InputBound("max factor", .count, from: "0.001", to: "1000")
    /// Xen 4's dirty-page threshold (50): at most a guest's largest page count, 2^32.
    public static let targetDirtyPages = InputBound("target dirty pages", .count, from: "0", to: "4294967296")
    /// QEMU's `vcpu-dirty-limit` (1 MB/s by default there), in pages per second: from one page a
    /// second to a billion (beyond any guest's write rate).
    public static let dirtyLimit = InputBound("dirty limit", .count, from: "1", to: "1000000000")
    /// A round does not converge when dirtied >= ratio x sent (0.9).
    public static let fallbackDirtyRatio = InputBound("fallback dirty ratio", .count, from: "0.001", to: "1000")
}
