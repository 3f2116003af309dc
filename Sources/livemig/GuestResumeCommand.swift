import ArgumentParser
import GuestControl

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

    func run() throws {
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
