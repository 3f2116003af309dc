/// The discrete-event kernel's queue: a binary min-heap keyed on (time, sequence number), so
/// that events at equal times run in the order they were scheduled (as SimPy and TigerBeetle's
/// VOPR do).
public struct EventQueue<Event> {
    private struct Entry {
        var timeSeconds: Double
        var sequence: UInt64
        var event: Event
        @inline(__always)
        func precedes(_ other: Entry) -> Bool {
            timeSeconds < other.timeSeconds || (timeSeconds == other.timeSeconds && sequence < other.sequence)
        }
    }

    private var heap: [Entry] = []
    private var nextSequence: UInt64 = 0
    /// Events scheduled at most at once; scheduling beyond it is a bug in the caller.
    public let capacity: Int

    /// Room for the first `initialReserve` events is taken at once, so that a small run's queue
    /// allocates once instead of growing by doubling.
    public static var initialReserve: Int { 64 }

    public init(capacity: Int = 1 << 20) {
        self.capacity = capacity
        heap.reserveCapacity(min(capacity, Self.initialReserve))
    }

    public var isEmpty: Bool { heap.isEmpty }
    public var count: Int { heap.count }
    public var nextTimeSeconds: Double? { heap.first?.timeSeconds }

    public mutating func schedule(_ event: Event, at timeSeconds: Double) {
        precondition(timeSeconds.isFinite, "an event needs a finite time")
        precondition(heap.count < capacity, "event queue over its capacity of \(capacity)")
        heap.append(Entry(timeSeconds: timeSeconds, sequence: nextSequence, event: event))
        nextSequence += 1
        siftUp(heap.count - 1)
    }

    /// Removes and returns the earliest event.
    public mutating func popNext() -> (timeSeconds: Double, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let entry = heap.removeLast()
        if !heap.isEmpty { siftDown(0) }
        return (entry.timeSeconds, entry.event)
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            var smallest = left
            if left + 1 < heap.count, heap[left + 1].precedes(heap[left]) { smallest = left + 1 }
            guard heap[smallest].precedes(heap[parent]) else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
