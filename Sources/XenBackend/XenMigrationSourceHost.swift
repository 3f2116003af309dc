import MigrationCore

/// What the Xen sender needs of the source host: libxl's and libxenguest's calls on one domain.
/// `XenHost` is the real one; a test's stand-in lets the sender's commit handling be driven
/// through every fault without a Xen host (`CommitRulesBothPathsTests`).
public protocol XenMigrationSourceHost {
    func domainID(named name: String) throws(HostFailure) -> UInt32
    func requireMigratablePV(_ id: UInt32, name: String) throws(HostFailure)
    func guestPageCount(_ id: UInt32) throws(HostFailure) -> Int
    func configurationJSON(_ id: UInt32) throws(HostFailure) -> String
    func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure)
    func destroy(_ id: UInt32) throws(HostFailure)
    /// Resumes the domain in place (`suspend_cancel`) if a failed save left it suspended.
    func resumeIfSuspended(_ id: UInt32) throws(HostFailure)
    /// Runs libxenguest's save of the domain onto `fd` (libxc's part of the stream), asking
    /// `save` its pre-copy questions and telling it when the domain is suspended.
    func runSave(_ save: XenDomainSave, domainID id: UInt32, fd: Int32, live: Bool) throws(HostFailure)
}

extension XenHost: XenMigrationSourceHost {
    public func runSave(_ save: XenDomainSave, domainID id: UInt32, fd: Int32, live: Bool) throws(HostFailure) {
        try save.run(host: self, domainID: id, fd: fd, live: live)
    }
}
