/// The observation's backend seam (`livemig observe`, calibration): a running guest whose
/// dirty pages can be logged without migrating it. A KVM guest or a Xen domain; a new
/// hypervisor implements it beside `SourceHypervisor` and `IncomingGuest`.
public protocol ObservableGuest {
    /// Pages the dirty bitmap covers, and their size.
    var observedPageCount: Int { get }
    var observedPageSizeBytes: Int { get }
    func setDirtyLogging(on: Bool) throws(HostFailure)
    /// The pages dirtied since the last read, the log cleared.
    func readAndClearDirtyLog() throws(HostFailure) -> DirtyBitmap
    /// Why the guest stopped running, if it did.
    var stoppedReason: String? { get }
    /// Pages of guest memory that are all zero now (what a migration would send as zero-page
    /// markers); nil where the migration sends every page whole (a Xen domain: libxenguest
    /// has no zero-page record).
    func zeroPageCount() -> Int?
}

extension ObservableGuest {
    public func zeroPageCount() -> Int? { nil }
}
