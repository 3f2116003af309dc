import Foundation
import KVMBackend
import MigrationCore
import MigrationExecutor

/// This host's fixed costs of a migration, measured on a running guest rather than assumed
/// (`calibrate`): how long a dirty-log read and clear takes per GiB of guest memory, how long
/// pausing the vCPU takes (until it has left KVM_RUN) and resuming it (the call: the vCPU runs
/// again some microseconds later), and how many bytes the device state is. The guest is
/// paused for the pause and the state capture, about a millisecond; its dirty logging is on
/// for the reads and off again after, whatever happens.
enum HostCostMeasurement {
    static let samples = 5

    /// Measures `guest`, which must be running with its dirty logging off.
    static func measure(_ guest: KVMGuest) throws(HostFailure) -> MeasuredHostCosts {
        guard guest.isRunning else { throw HostFailure("measuring costs: guest '\(guest.name)' is not running") }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        var reads: [Double] = []
        do throws(KVMError) {
            try guest.setDirtyLogging(true)
            defer { try? guest.setDirtyLogging(false) }
            _ = try guest.readDirtyLog(clear: true)  // what was logged when it was turned on
            for _ in 0 ..< samples {
                let start = monotonicSeconds()
                _ = try guest.readDirtyLog(clear: true)
                reads.append(monotonicSeconds() - start)
            }
        } catch {
            throw HostFailure("measuring the dirty-log read: \(error.description)")
        }
        var pauses: [Double] = []
        var resumes: [Double] = []
        var stateBytes = 0
        for _ in 0 ..< samples {
            let start = monotonicSeconds()
            guest.pause()
            let paused = monotonicSeconds()
            let captured: Result<[UInt8], KVMError>
            do throws(KVMError) {
                captured = .success(try guest.captureVcpuState())
            } catch {
                captured = .failure(error)
            }
            let resuming = monotonicSeconds()
            guest.resume()
            resumes.append(monotonicSeconds() - resuming)
            pauses.append(paused - start)
            switch captured {
            case .success(let state): stateBytes = state.count
            case .failure(let error): throw HostFailure("measuring the device state: \(error.description)")
            }
        }
        let gib = Double(guest.memory.sizeBytes) / 1_073_741_824
        return MeasuredHostCosts(dirtyLogReadSecondsPerGiB: gib > 0 ? median(reads) / gib : 0, pauseSeconds: median(pauses),
                                   resumeSeconds: median(resumes), deviceStateBytes: stateBytes, samples: samples)
    }
}
