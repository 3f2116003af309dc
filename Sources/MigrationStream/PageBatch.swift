/// Up to `StreamLimits.maxBatchPages` guest pages: their frame numbers, strictly ascending and
/// below the guest's page count, and their contents back to back in the same order.
public struct PageBatch: Sendable, Equatable {
    /// Page frame numbers, strictly ascending.
    public var pageNumbers: [UInt64]
    /// `pageNumbers.count * pageSizeBytes` bytes: page `pageNumbers[i]` is the i-th page-sized run.
    public var data: [UInt8]

    public init(pageNumbers: [UInt64], data: [UInt8]) {
        self.pageNumbers = pageNumbers
        self.data = data
    }

    /// A copy of a decoded view.
    public init(_ view: PageBatchView) {
        self.init(pageNumbers: view.pageNumbers, data: Array(view.data))
    }
}

/// A decoded page batch whose page data is still in the decoder's receive buffer: `data` shares
/// that buffer's storage, nothing is copied. Copy the pages into guest memory and drop the view
/// before the next `StreamDecoder.feed(_:)`; a view kept across a feed stays correct but makes
/// the decoder copy its buffer when it next compacts.
public struct PageBatchView: Sendable, Equatable {
    /// Page frame numbers, strictly ascending, each below the guest's page count.
    public let pageNumbers: [UInt64]
    /// The pages' contents, back to back (a slice of the receive buffer: index from `startIndex`).
    public let data: ArraySlice<UInt8>
    /// Bytes per page, from the guest layout.
    public let pageSizeBytes: Int

    /// The contents of the `index`-th page of the batch (page frame `pageNumbers[index]`).
    public func page(at index: Int) -> ArraySlice<UInt8> {
        let start = data.startIndex + index * pageSizeBytes
        return data[start ..< start + pageSizeBytes]
    }
}

/// The start of a page batch, as `StreamDecoder.nextItem()` announces it: the page numbers are
/// checked; the `dataBytes` bytes of page data that follow (in page order) are the caller's to
/// move, so a receiver can read them from the socket straight into guest memory.
public struct PageBatchHead: Sendable, Equatable {
    /// Page frame numbers, strictly ascending, each below the guest's page count.
    public let pageNumbers: [UInt64]
    /// Bytes per page, from the guest layout.
    public let pageSizeBytes: Int

    public init(pageNumbers: [UInt64], pageSizeBytes: Int) {
        self.pageNumbers = pageNumbers
        self.pageSizeBytes = pageSizeBytes
    }

    /// Bytes of page data that follow the head.
    public var dataBytes: Int { pageNumbers.count * pageSizeBytes }
}

/// What `StreamDecoder.nextItem()` returns: a whole record that is not a page batch, or the head
/// of a page batch whose data the caller then takes.
public enum StreamItem: Sendable, Equatable {
    case pageBatchHead(PageBatchHead)
    case record(StreamRecord)
}

extension StreamItem {
    /// The record type this item is (or begins).
    public var type: RecordType {
        switch self {
        case .pageBatchHead: .pageBatch
        case .record(let record): record.type
        }
    }
}
