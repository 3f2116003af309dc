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

/// A destination guest that can run before every page is here (post-copy): its missing pages
/// fault to the receiver, which places each as it comes (`MissingPages`).
public protocol PostcopyIncomingGuest: IncomingGuest {
    /// Drops the stale copies of `missing` (guest page numbers) and makes them, and every page
    /// never written, fault on the guest's touch from now on; before the guest runs.
    func beginPostcopy(missing: [Int]) throws(HostFailure) -> any MissingPages
    /// Post-copy cut short: pauses the guest, which lacks pages it may never get, and keeps it
    /// (never destroyed: the source's copy is stale; docs/postcopy.md). Waits at most
    /// `timeoutSeconds` for a vCPU blocked on a missing page; false if one did not stop.
    func holdPaused(timeoutSeconds: Double) -> Bool
}

/// The pages of a post-copy destination that fault until placed. `nextFault` is read on one
/// thread while `place` runs on another (the kernel's userfaultfd allows it, as QEMU does).
public protocol MissingPages: AnyObject, Sendable {
    /// The next page the guest touched and found missing, waiting up to `timeoutMilliseconds`;
    /// nil when none came.
    func nextFault(timeoutMilliseconds: Int32) throws(HostFailure) -> Int?
    /// Places `count` consecutive pages from `page` on, from `source`, atomically each, and wakes
    /// whoever waits on them; false when one was there already (those before it are placed).
    func place(page: Int, count: Int, from source: UnsafeRawPointer) throws(HostFailure) -> Bool
    /// Every missing page is placed: stop trapping (a page never written then reads as zero).
    func end()
}
