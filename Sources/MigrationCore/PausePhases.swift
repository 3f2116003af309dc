/// Where a pause went, by the source's clock: from the guest's pause to the destination's
/// "running", in the order the engine takes the steps, so that the phases add up to the
/// downtime. The destination's own work shows inside the two waits on it (`destinationReady`:
/// its completeness check, loading the vCPU and device state and a round trip;
/// `clearedToRunning`: its unpause and a round trip). The simulator reports the same phases
/// from its cost model. Where time lands: the final pages' phase ends when the last page is
/// handed to the socket, so at line rate the drain of what the socket still holds shows in the
/// wait for "ready"; under a cap (offline, or `capsPausedRound`) the wait for the device
/// state's bytes to fit under it shows there too.
public struct PausePhases: Codable, Sendable, Equatable {
    /// The last dirty-log read and clear, after the pause (none for an offline migration).
    public var finalDirtyLogReadSeconds: Double
    /// The paused round's pages.
    public var finalPagesSeconds: Double
    /// The vCPU and device state, and the memory digest if one was asked for.
    public var deviceStateSeconds: Double
    /// From the end of the stream to the destination's "ready to unpause".
    public var destinationReadySeconds: Double
    /// From "cleared to unpause" to the destination's "running".
    public var clearedToRunningSeconds: Double

    public init(finalDirtyLogReadSeconds: Double, finalPagesSeconds: Double, deviceStateSeconds: Double,
                destinationReadySeconds: Double, clearedToRunningSeconds: Double) {
        self.finalDirtyLogReadSeconds = finalDirtyLogReadSeconds
        self.finalPagesSeconds = finalPagesSeconds
        self.deviceStateSeconds = deviceStateSeconds
        self.destinationReadySeconds = destinationReadySeconds
        self.clearedToRunningSeconds = clearedToRunningSeconds
    }

    /// The phases' sum: the downtime they explain.
    public var totalSeconds: Double {
        finalDirtyLogReadSeconds + finalPagesSeconds + deviceStateSeconds + destinationReadySeconds + clearedToRunningSeconds
    }

    /// Each phase with its name, in order.
    public var named: [(name: String, seconds: Double)] {
        [("final dirty-log read", finalDirtyLogReadSeconds), ("final pages", finalPagesSeconds), ("device state", deviceStateSeconds),
         ("destination ready", destinationReadySeconds), ("cleared to running", clearedToRunningSeconds)]
    }
}
