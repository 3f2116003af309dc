/// Where a pause went, by the source's clock: from the guest's pause to the destination's
/// "running", in the order the engine takes the steps, so that the phases add up to the
/// downtime. The destination's own work shows inside the two waits on it (`destinationReady`:
/// its completeness check, loading the vCPU and device state and a round trip;
/// `clearedToRunning`: its unpause and a round trip), and by its own clock in `destination`. The simulator reports the same phases
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
    /// The destination's part, by its own clock (nil when it did not say, or said what cannot
    /// fit the source's waits).
    public var destination: DestinationPauseWork?

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

    /// The two waits on the destination less its own work in them (its check, its state load
    /// and its unpause): the drain of the stream, the round trips of "ready" and "running",
    /// and scheduling. The state load is counted as inside the wait for "ready", where it
    /// lands unless the device state is large. Nil without the destination's figures.
    public var transitSeconds: Double? {
        destination.map { max(0, destinationReadySeconds + clearedToRunningSeconds - $0.totalSeconds) }
    }

    /// These phases with the destination's figures beside them, if they fit what the source
    /// saw: each of the destination's intervals lies inside one of the source's (its check
    /// inside the wait for "ready", its unpause inside the wait for "running", its state load
    /// inside the device state's send and the wait for "ready"), allowing for the two clocks'
    /// rates (1 %) and 0.1 ms of timer slack. A peer's figures that do not fit are left out:
    /// they come from a host the source does not control.
    public func adding(destination work: DestinationPauseWork?) -> PausePhases {
        var phases = self
        phases.destination = work.flatMap { work in
            func fits(_ seconds: Double, within window: Double) -> Bool {
                seconds.isFinite && seconds >= 0 && seconds <= window * 1.01 + 0.0001
            }
            let fitsAll = fits(work.checkSeconds, within: destinationReadySeconds)
                && fits(work.unpauseSeconds, within: clearedToRunningSeconds)
                && fits(work.stateLoadSeconds, within: deviceStateSeconds + destinationReadySeconds)
                && fits(work.checkSeconds + work.stateLoadSeconds, within: deviceStateSeconds + destinationReadySeconds)
            return fitsAll ? work : nil
        }
        return phases
    }

    /// Each phase with its name, in order.
    public var named: [(name: String, seconds: Double)] {
        [("final dirty-log read", finalDirtyLogReadSeconds), ("final pages", finalPagesSeconds), ("device state", deviceStateSeconds),
         ("destination ready", destinationReadySeconds), ("cleared to running", clearedToRunningSeconds)]
    }
}

/// The destination's own account of its part of a pause, by its monotonic clock (carried by
/// its `running` record): what the source's waits on it held besides the wire.
public struct DestinationPauseWork: Codable, Sendable, Equatable {
    /// Loading the vCPUs' and the devices' state into the guest as they arrived.
    public var stateLoadSeconds: Double
    /// From the end of the stream to its "ready": the completeness check, and the memory
    /// digest's comparison if one was sent.
    public var checkSeconds: Double
    /// From "cleared to unpause" to the guest running: recording the commit, starting the vCPUs.
    public var unpauseSeconds: Double

    public init(stateLoadSeconds: Double, checkSeconds: Double, unpauseSeconds: Double) {
        self.stateLoadSeconds = stateLoadSeconds
        self.checkSeconds = checkSeconds
        self.unpauseSeconds = unpauseSeconds
    }

    /// All three.
    public var totalSeconds: Double { stateLoadSeconds + checkSeconds + unpauseSeconds }

    /// Each with its name, in order.
    public var named: [(name: String, seconds: Double)] {
        [("state load", stateLoadSeconds), ("check", checkSeconds), ("unpause", unpauseSeconds)]
    }
}
