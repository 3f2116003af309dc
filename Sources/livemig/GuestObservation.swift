import Foundation
import GuestControl
import MigrationCalibration
import MigrationCore
import MigrationExecutor
import XenBackend

/// Records what a running guest dirties into a trace file: a KVM guest through its daemon
/// (which owns the VM), a Xen domain from this process (the hypervisor owns it). Shared by
/// `observe` and `calibrate`.
enum GuestObservation {
    /// This host's fixed costs measured on a KVM guest by its daemon (nil for a Xen domain,
    /// whose costs are not measured yet).
    static func measureCosts(_ name: String, host: RunDirectoryOption, xen: Bool) throws -> MeasuredHostCosts? {
        guard !host.namesXenDomain(name, xenFlag: xen) else { return nil }
        let reply: ControlReply
        do {
            reply = try host.directory.ask(name, ControlRequest(command: .measureCosts), timeoutSeconds: 30)
        } catch {
            throw failure("guest '\(name)': measuring this host's costs: \(error.description)")
        }
        if let error = reply.error { throw failure("guest '\(name)': \(error)") }
        guard let costs = reply.costs else { throw failure("guest '\(name)': no cost measurement in the answer") }
        return costs
    }

    static func record(_ name: String, host: RunDirectoryOption, xen: Bool, into file: String,
                       seconds: Double, intervalSeconds: Double) throws -> ObservationSummary {
        var request = ControlRequest(command: .observe)
        request.seconds = seconds
        request.intervalSeconds = intervalSeconds
        do {
            try request.validate()
            try DirtyLogObservation.validate(seconds: seconds, intervalSeconds: intervalSeconds)
        } catch {
            throw failure(error.description)
        }
        if host.namesXenDomain(name, xenFlag: xen) {
            do {
                let domain = try XenObservedDomain(host: try XenHost(), name: name)
                return try TraceRecording.record(domain, into: file, seconds: seconds, intervalSeconds: intervalSeconds)
            } catch {
                throw failure("domain '\(name)': \(error.description)")
            }
        }
        request.file = file
        let reply: ControlReply?
        do {
            let connection = try host.directory.connect(to: name)
            try connection.send(request)
            reply = try connection.receive(ControlReply.self)
        } catch {
            throw failure("guest '\(name)' is not running on this host (\(error.description))")
        }
        guard let reply else { throw failure("guest '\(name)': the daemon went away without an answer") }
        if let error = reply.error { throw failure("guest '\(name)': \(error)") }
        guard let summary = reply.observation else { throw failure("guest '\(name)': no observation in the answer") }
        return summary
    }
}
