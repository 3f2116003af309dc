/// The actions the engine handed out and has not heard the end of, oldest first. The first
/// is kept apart from the rest: with one action out at a time (every serial driver, the
/// simulator's whole hot path) no array is touched, which a step in the simulator felt.
struct ActionsInFlight {
    private var first: OutAction?
    private var rest: [OutAction] = []

    var isEmpty: Bool { first == nil }
    var count: Int { first == nil ? 0 : 1 + rest.count }

    /// Whether every action out is a send (true when none is).
    var allSends: Bool {
        guard let first else { return true }
        return first.step.isSend && rest.allSatisfy { $0.step.isSend }
    }

    mutating func append(_ action: OutAction) {
        if first == nil { first = action } else { rest.append(action) }
    }

    /// Takes the action out under `id` off the list; nil if none is.
    mutating func remove(id: UInt64) -> SourceStep? {
        if let current = first, current.id == id {
            first = rest.isEmpty ? nil : rest.removeFirst()
            return current.step
        }
        guard let index = rest.firstIndex(where: { $0.id == id }) else { return nil }
        return rest.remove(at: index).step
    }
}

/// One action out with the driver: the name `poll` gave it and the step it stands for.
struct OutAction {
    var id: UInt64
    var step: SourceStep
}
