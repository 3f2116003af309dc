/// Up to `StreamLimits.maxBatchPages` guest pages whose every byte is zero, by frame number
/// alone: strictly ascending and below the guest's page count, as in a page batch, but with no
/// data. The destination makes each of them read as zero, so a zero page costs 8 bytes of the
/// stream instead of a whole page. QEMU does the same: its RAM migration tests each page with
/// `buffer_is_zero` and sends a zero one as a header flagged `RAM_SAVE_FLAG_ZERO` instead of its
/// contents (`save_zero_page`, migration/ram.c). Stream version 4 and later.
public struct ZeroPageList: Sendable, Equatable {
    /// Page frame numbers, strictly ascending, each below the guest's page count.
    public var pageNumbers: [UInt64]

    public init(pageNumbers: [UInt64]) {
        self.pageNumbers = pageNumbers
    }
}
