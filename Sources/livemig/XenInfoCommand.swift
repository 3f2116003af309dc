import ArgumentParser
import XenProbe

/// `livemig xen-info`: whether this machine is a usable Xen host, through libxenctrl.
struct XenInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xen-info",
        abstract: "Probe the local Xen host through libxenctrl (version, memory).")

    func run() throws {
        do {
            let info = try XenHostProbe.probe()
            print("Xen \(info.versionMajor).\(info.versionMinor): \(info.totalPages) pages, \(info.freePages) free")
        } catch {
            throw failure(error.description)
        }
    }
}
