/// The policies livemig knows, by the names scenarios and the command line use.
public enum PolicyName: String, Sendable, CaseIterable, Codable {
    case xen3, xen4, qemu, timeout
}

/// A policy and its parameters, as a scenario or a command line gives them; `nil` means the
/// policy's own default. Builds the `PrecopyPolicy` value the engine consults.
public struct PolicyConfiguration: Sendable, Equatable, Codable {
    public var name: PolicyName
    /// Live rounds before the paused one (xen3: 29, xen4: 5).
    public var maxIterations: Int?
    /// xen3: stop once more than this many times guest memory has been sent (3).
    public var maxFactor: Double?
    /// xen4: stop when fewer pages than this are dirty (50).
    public var targetDirtyPages: Double?
    /// qemu, timeout: the downtime the paused round may take (300 ms).
    public var downtimeLimitSeconds: Double?
    /// qemu, timeout: QEMU's auto-converge (throttle the guest 20 %, then +10 %, at most 99 %).
    public var autoConverge: Bool
    /// qemu, timeout: QEMU's dirty limit instead, in pages per second: once the same trigger
    /// fires, the guest is slowed toward dirtying this many pages a second.
    public var dirtyLimitPagesPerSecond: Double?
    /// qemu, timeout: go on live while another round would shrink the pause (livemig's
    /// refinement, on when nil); false stops as QEMU does, as soon as the pages fit the limit.
    public var shrinksPause: Bool?
    /// timeout: suspend the guest after this many seconds (libvirt's --timeout).
    public var timeoutSeconds: Double?
    /// The offline fallback: give up on live migration after this many rounds in a row in which
    /// the guest dirtied as much as was sent. 0 turns it off; the default is 5 for qemu (which
    /// has no limit of its own) and off for the others (their limits are their fallback).
    public var fallbackRounds: Int?
    /// A round does not converge when pages dirtied >= this x pages sent (0.9).
    public var fallbackDirtyRatio: Double?

    public init(name: PolicyName, maxIterations: Int? = nil, maxFactor: Double? = nil,
                targetDirtyPages: Double? = nil, downtimeLimitSeconds: Double? = nil,
                autoConverge: Bool = false, dirtyLimitPagesPerSecond: Double? = nil, timeoutSeconds: Double? = nil,
                fallbackRounds: Int? = nil, fallbackDirtyRatio: Double? = nil) {
        self.name = name
        self.maxIterations = maxIterations
        self.maxFactor = maxFactor
        self.targetDirtyPages = targetDirtyPages
        self.downtimeLimitSeconds = downtimeLimitSeconds
        self.autoConverge = autoConverge
        self.dirtyLimitPagesPerSecond = dirtyLimitPagesPerSecond
        self.timeoutSeconds = timeoutSeconds
        self.fallbackRounds = fallbackRounds
        self.fallbackDirtyRatio = fallbackDirtyRatio
    }

    /// libvirt's `--timeout` needs a value; this is used when none is given.
    public static let defaultTimeoutSeconds = 60.0
    public static let defaultQemuFallbackRounds = 5

    public var effectiveFallbackRounds: Int {
        fallbackRounds ?? (name == .qemu ? Self.defaultQemuFallbackRounds : 0)
    }

    /// Checks every setting against `PolicyBounds`; the error names the scenario key
    /// (`policy.maxIterations`), the value and the range. For settings that did not come
    /// through a scenario's reader, which checks them itself (a control request's).
    public func validate() throws(InputBoundError) {
        if let maxIterations { try PolicyBounds.maxIterations.named("policy.maxIterations").check(maxIterations) }
        if let maxFactor { try PolicyBounds.maxFactor.named("policy.maxFactor").check(maxFactor, written: "\(maxFactor)") }
        if let targetDirtyPages {
            try PolicyBounds.targetDirtyPages.named("policy.targetDirtyPages").check(targetDirtyPages, written: "\(targetDirtyPages)")
        }
        if let downtimeLimitSeconds {
            try PolicyBounds.downtimeLimit.named("policy.downtimeLimit").check(downtimeLimitSeconds, written: "\(downtimeLimitSeconds) s")
        }
        if let dirtyLimitPagesPerSecond {
            try PolicyBounds.dirtyLimit.named("policy.dirtyLimit").check(dirtyLimitPagesPerSecond, written: "\(dirtyLimitPagesPerSecond) pages/s")
        }
        if let problem = throttleChoiceProblem { throw InputBoundError("policy.dirtyLimit: \(problem)") }
        if let timeoutSeconds { try PolicyBounds.timeout.named("policy.timeout").check(timeoutSeconds, written: "\(timeoutSeconds) s") }
        if let fallbackRounds { try PolicyBounds.fallbackRounds.named("policy.fallbackRounds").check(fallbackRounds) }
        if let fallbackDirtyRatio {
            try PolicyBounds.fallbackDirtyRatio.named("policy.fallbackDirtyRatio").check(fallbackDirtyRatio, written: "\(fallbackDirtyRatio)")
        }
    }

    /// Auto-converge and the dirty limit exclude each other (as in QEMU, where setting both
    /// capabilities fails), and both need a policy that throttles (qemu, timeout).
    /// What is wrong with the dirty limit's combination, if anything (the caller names the key).
    public var throttleChoiceProblem: String? {
        guard dirtyLimitPagesPerSecond != nil else { return nil }
        if autoConverge { return "auto-converge is on as well: choose one (each slows the guest its own way)" }
        if name != .qemu && name != .timeout {
            return "only the qemu and timeout policies slow the guest (the policy is \(name.rawValue))"
        }
        return nil
    }

    /// The settings as scenario keys (`policy.name=xen4`, ...), for a scenario that must predict
    /// the migration these settings run.
    public var scenarioKeys: [String] {
        var keys = ["policy.name=\(name.rawValue)"]
        if let maxIterations { keys.append("policy.maxIterations=\(maxIterations)") }
        if let maxFactor { keys.append("policy.maxFactor=\(maxFactor)") }
        if let targetDirtyPages { keys.append("policy.targetDirtyPages=\(targetDirtyPages)") }
        if let downtimeLimitSeconds { keys.append("policy.downtimeLimit=\(downtimeLimitSeconds)s") }
        if autoConverge { keys.append("policy.autoConverge=true") }
        if let dirtyLimitPagesPerSecond { keys.append("policy.dirtyLimit=\(dirtyLimitPagesPerSecond)") }
        if let shrinksPause { keys.append("policy.shrinkPause=\(shrinksPause)") }
        if let timeoutSeconds { keys.append("policy.timeout=\(timeoutSeconds)s") }
        if let fallbackRounds { keys.append("policy.fallbackRounds=\(fallbackRounds)") }
        if let fallbackDirtyRatio { keys.append("policy.fallbackDirtyRatio=\(fallbackDirtyRatio)") }
        return keys
    }

    /// The policy value the engine consults.
    public func makePolicy() -> any PrecopyPolicy {
        var qemu = QemuPolicy(downtimeLimitSeconds: downtimeLimitSeconds ?? QemuPolicy.defaultDowntimeLimitSeconds,
                              shrinksPauseLive: shrinksPause ?? true)
        if autoConverge {
            qemu.autoConverge = QemuPolicy.AutoConverge()
        } else if let dirtyLimitPagesPerSecond {
            qemu.dirtyLimit = QemuPolicy.DirtyLimit(targetPagesPerSecond: dirtyLimitPagesPerSecond)
        }
        let base: any PrecopyPolicy
        switch name {
        case .xen3:
            base = Xen3Policy(maxIterations: maxIterations ?? Xen3Policy.defaultMaxIterations,
                              maxFactor: maxFactor ?? Xen3Policy.defaultMaxFactor)
        case .xen4:
            base = Xen4Policy(maxIterations: maxIterations ?? Xen4Policy.defaultMaxIterations,
                              targetDirtyCount: targetDirtyPages ?? Xen4Policy.defaultTargetDirtyCount)
        case .qemu:
            base = qemu
        case .timeout:
            base = TimeoutPolicy(timeoutSeconds: timeoutSeconds ?? Self.defaultTimeoutSeconds, base: qemu)
        }
        let rounds = effectiveFallbackRounds
        guard rounds > 0 else { return base }
        return OfflineFallbackGuard(base: base, rounds: rounds, dirtyRatio: fallbackDirtyRatio ?? 0.9)
    }
}
