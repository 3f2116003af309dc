import MigrationCore

/// A Xen domain a migration left suspended as NAME--migratedaway (the link was lost after the
/// permission to go: it may run on the destination, `CommitRules.leaveSourcePaused`). xl has
/// no command to bring it back; `livemig guest resume NAME --force` does, once the operator
/// has checked the destination (xl's protocol cannot ask it: docs/xen-backend.md).
public enum XenLeftSuspendedDomain {
    public static func awayName(_ name: String) -> String { name + "--migratedaway" }

    /// Gives the domain its name back and resumes it in place (`suspend_cancel`).
    public static func resume<Host: XenMigrationSourceHost>(_ name: String, on host: Host) throws(HostFailure) {
        let away = awayName(name)
        let id: UInt32
        do {
            id = try host.domainID(named: away)
        } catch {
            throw HostFailure("no domain \(away) here: only a domain a migration left suspended can be resumed (\(error.description))")
        }
        if (try? host.domainID(named: name)) != nil {
            throw HostFailure("a domain named \(name) already exists here: \(away) stays suspended")
        }
        try host.rename(id, from: away, to: name)
        try host.resumeIfSuspended(id)
    }
}
