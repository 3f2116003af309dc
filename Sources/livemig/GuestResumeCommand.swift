import ArgumentParser
import GuestControl
import MigrationCore
import XenBackend

/// `livemig guest resume NAME [--force]`: runs again a guest left paused here because a
/// migration lost its connection after clearing the destination to run it (xl leaves the
/// operator the same choice). The guest's daemon asks that destination first and resumes only
/// if it has no such guest; `--force` resumes when the destination cannot be reached, after
/// the operator has checked there (docs/security.md, "Unknown commit outcome").
struct GuestResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume a guest left paused after a migration's unknown outcome.")
    @Argument(help: "The guest's name.") var name: String
    @Flag(help: "Resume even if the destination cannot be asked (check on it first that the guest does not run there).")
    var force = false
    @OptionGroup var host: RunDirectoryOption
    @Flag(help: "A Xen domain left suspended as NAME--migratedaway (the default on a Xen host for a name livemig's KVM daemons do not run).")
    var xen = false

    func run() throws {
        if host.namesXenDomain(name, xenFlag: xen) { return try resumeXenDomain() }
        var request = ControlRequest(command: .resume)
        request.force = force
        do {
            _ = try host.directory.ask(name, request)
        } catch {
            throw failure("guest '\(name)': \(error.description)")
        }
        print("guest \(name) resumed")
    }
}

extension GuestResumeCommand {
    /// xl's protocol has no way to ask the destination, so a Xen domain is resumed only with
    /// `--force`, after the operator has checked there (`xl list NAME` on the destination).
    func resumeXenDomain() throws {
        guard force else {
            throw failure("domain '\(name)': xl's migration protocol cannot ask the destination whether it runs \(name); check there (xl list \(name)) that it does not, then run `livemig guest resume \(name) --force`")
        }
        do {
            try XenMigrationRegistration.resumeLeftSuspended(name: name, in: host.directory) { () throws(HostFailure) in
                try XenLeftSuspendedDomain.resume(name, on: try XenHost())
            }
        } catch {
            throw failure("domain '\(name)': \(error.description)")
        }
        print("domain \(name) resumed")
    }
}
