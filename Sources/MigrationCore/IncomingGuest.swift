/// The destination's backend seam: a guest being built from an incoming stream, which a new
/// hypervisor implements beside `SourceHypervisor` (the source) and `ObservableGuest`
/// (`livemig observe`). The receiver (MigrationExecutor's `ReceiveSession`) drives it as
/// `DestinationMigration` decides.
public protocol IncomingGuest: AnyObject {
    /// Where page `page` of guest memory lives, for the receiver to write into. A new guest's
    /// memory must read as zero until written: the receiver skips zero-page markers for pages
    /// it has not written.
    func pageAddress(_ page: Int) -> UnsafeMutableRawPointer
    func loadVcpuState(_ state: [UInt8], vcpu: Int) throws(HostFailure)
    func loadDeviceState(_ state: [UInt8]) throws(HostFailure)
    /// Runs the guest: only after the source has cleared it to.
    func run() throws(HostFailure)
    /// Throws the partial guest away.
    func discard()
    /// The guest's first console line printed after `seconds` (wall clock), waiting for one up
    /// to `timeoutSeconds`: its wall-clock time and text. For the guest-visible gap.
    func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)?
}

extension IncomingGuest {
    /// A guest without a console has no first line.
    public func firstConsoleLine(after seconds: Double, waitingUpTo timeoutSeconds: Double) -> (wallClockSeconds: Double, text: String)? {
        nil
    }
}
