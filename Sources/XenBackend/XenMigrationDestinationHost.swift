import MigrationCore

/// What the Xen receiver needs of the destination host: libxl's calls that build, name, run
/// and destroy the arriving domain. `XenHost` is the real one; a test's stand-in lets the
/// receiver's commit handling be played against the sender without a Xen host
/// (`CommitRulesBothPathsTests`).
public protocol XenMigrationDestinationHost {
    /// The `c_info.name` of a libxl_domain_config JSON.
    func configurationName(_ json: String) throws(HostFailure) -> String
    /// Builds the domain paused from `config` and the libxl stream on `fd`; returns its id.
    func restore(_ config: String, named name: String, from fd: Int32) throws(HostFailure) -> UInt32
    func rename(_ id: UInt32, from old: String?, to new: String) throws(HostFailure)
    func unpause(_ id: UInt32) throws(HostFailure)
    func destroy(_ id: UInt32) throws(HostFailure)
}

extension XenHost: XenMigrationDestinationHost {}
