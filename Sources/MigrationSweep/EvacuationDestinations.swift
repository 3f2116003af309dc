import MigrationSimulation

/// Puts each guest on a destination with room for it: pinned guests where the host file says,
/// the rest largest first onto the destination whose link would finish its share soonest
/// (bytes already assigned over its bandwidth), a greedy balance of the links' work.
public enum EvacuationDestinations {
    public static func assign(_ setting: EvacuationSetting) throws(PlanError) -> [Int] {
        var roomBytes = setting.destinations.map(\.memoryBytes)
        var assignedBytes = [Double](repeating: 0, count: setting.destinations.count)
        var chosen = [Int](repeating: -1, count: setting.guests.count)
        for (index, guest) in setting.guests.enumerated() {
            guard let pinned = guest.pinnedDestination else { continue }
            let destination = setting.destinations[pinned]
            guard roomBytes[pinned] >= guest.config.guestMemoryBytes else {
                throw PlanError("guests.\(guest.name).destination: \(destination.name) has \(roomBytes[pinned] >> 20) MiB left, the guest needs \(guest.config.guestMemoryBytes >> 20) MiB (destinations.\(destination.name).memory)")
            }
            roomBytes[pinned] -= guest.config.guestMemoryBytes
            assignedBytes[pinned] += Double(guest.config.guestMemoryBytes)
            chosen[index] = pinned
        }
        let free = setting.guests.indices.filter { chosen[$0] < 0 }
            .sorted { setting.guests[$0].config.guestMemoryBytes > setting.guests[$1].config.guestMemoryBytes }
        for index in free {
            let bytes = setting.guests[index].config.guestMemoryBytes
            let fitting = setting.destinations.indices.filter { roomBytes[$0] >= bytes }
            guard let best = fitting.min(by: { finishAfter($0) < finishAfter($1) }) else {
                let room = roomBytes.max() ?? 0
                throw PlanError("guests.\(setting.guests[index].name): no destination has room for its \(bytes >> 20) MiB (the most left on any is \(room >> 20) MiB; see destinations[].memory)")
            }
            roomBytes[best] -= bytes
            assignedBytes[best] += Double(bytes)
            chosen[index] = best
            func finishAfter(_ destination: Int) -> Double {
                (assignedBytes[destination] + Double(bytes)) / setting.destinations[destination].bandwidthBytesPerSecond
            }
        }
        return chosen
    }
}

/// A plan that cannot be made as asked: names the input and the problem.
public struct PlanError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
