/// libvirt's `virsh migrate --live --timeout N`: QEMU's own convergence rule keeps running, and
/// once the migration has run N seconds libvirt suspends the guest so that it finishes offline
/// (`qemuMigrationSrcWaitForCompletion` / the `--timeout` handling in libvirt's `virsh-domain.c`).
public struct TimeoutPolicy: PrecopyPolicy {
    public var timeoutSeconds: Double
    public var base: QemuPolicy

    public init(timeoutSeconds: Double, base: QemuPolicy = QemuPolicy()) {
        self.timeoutSeconds = timeoutSeconds
        self.base = base
    }

    public var name: String { "timeout" }
    public var guestThrottlePercent: Int { base.guestThrottlePercent }
    public var canSlowGuestFurther: Bool { base.canSlowGuestFurther }

    private var timedOut: PrecopyStop {
        .fallback("timeout: suspended the guest after \(formatFactor(timeoutSeconds)) s (libvirt --timeout)")
    }

    public mutating func betweenBatches(_ stats: PrecopyStats) -> BatchCheckpoint {
        stats.elapsedSeconds >= timeoutSeconds ? .stopAndCopy(timedOut) : base.betweenBatches(stats)
    }

    public mutating func setDowntimeLimit(seconds: Double) -> Bool { base.setDowntimeLimit(seconds: seconds) }

    public mutating func afterRound(_ stats: PrecopyStats) -> PrecopyDecision {
        stats.elapsedSeconds >= timeoutSeconds ? .stopAndCopy(timedOut) : base.afterRound(stats)
    }

    public mutating func afterDirtyLogRead(_ stats: PrecopyStats) -> PrecopyDecision {
        let decision = base.afterDirtyLogRead(stats)
        if case .continuePrecopy = decision, stats.elapsedSeconds >= timeoutSeconds {
            return .stopAndCopy(timedOut)
        }
        return decision
    }
}
