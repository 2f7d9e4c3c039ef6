import CallAuditDomain
@testable import CallAuditIngest
import CallAuditKafka
import CallAuditStore
import Testing

/// The gap `ingest accept-gap` signs, worked out from a hold and the watermarks: no database, no broker.
@Suite("The gap a hold recorded")
struct GapAcceptanceTests {
    private let calls1 = TopicPartition(topic: "calls", partition: 1)

    @Test("the position and watermarks the hold recorded make the gap, not the watermarks now")
    func recordedWatermarksWin() throws {
        let hold = PartitionHold(topic: "calls", partition: 1, refusedOffset: 1_030, storedOffset: 1_030, lowWatermark: 0, highWatermark: 30)
        let gap = try #require(GapAcceptance.gap(held: hold, partition: calls1, stored: 5, now: Watermarks(low: 0, high: 2_000)))
        #expect(gap.kind == .beyondHighWatermark && gap.lostOffsets == 30..<1_030)
    }

    @Test("watermarks Kafka did not give at the hold are taken from now; the stored position from the store")
    func missingPartsFromNow() throws {
        let hold = PartitionHold(topic: "calls", partition: 1, refusedOffset: -1)
        let gap = try #require(GapAcceptance.gap(held: hold, partition: calls1, stored: 10, now: Watermarks(low: 50, high: 80)))
        #expect(gap.kind == .belowLowWatermark && gap.lostOffsets == 10..<50 && gap.resumeOffset == 50)
    }

    @Test("when the recorded position lies inside the watermarks, the refused offset shows the gap; with neither, no gap is invented")
    func refusedOffsetOrNothing() throws {
        let refused = PartitionHold(topic: "calls", partition: 1, refusedOffset: 90, storedOffset: 20, lowWatermark: 0, highWatermark: 40)
        let gap = try #require(GapAcceptance.gap(held: refused, partition: calls1, stored: 20, now: Watermarks(low: 0, high: 40)))
        #expect(gap.storedOffset == 90 && gap.messages == 50)
        let none = PartitionHold(topic: "calls", partition: 1, refusedOffset: -1, storedOffset: 20, lowWatermark: 0, highWatermark: 40)
        #expect(GapAcceptance.gap(held: none, partition: calls1, stored: 20, now: Watermarks(low: 0, high: 40)) == nil)
    }

    @Test("the gap_accepted document names the partition, the lost offsets, the resume offset, who and why")
    func document() throws {
        let gap = try #require(RetentionGap(partition: calls1, storedOffset: 1_030, watermarks: Watermarks(low: 0, high: 30)))
        let document = GapAcceptance.document(
            gap, consumerGroup: "g", id: "gap-1", reason: "topic recreated", actor: (name: "olga", role: "ops"), resumeOffset: 0)
        #expect(document["topic"] == "calls" && document["partition"]?.numberValue == 1 && document["kind"] == "beyond_high_watermark")
        #expect(document["lost"]?["from_offset"]?.numberValue == 30 && document["lost"]?["to_offset"]?.numberValue == 1_030)
        #expect(document["lost"]?["messages"]?.numberValue == 1_000 && document["resume_offset"]?.numberValue == 0)
        #expect(document["by"]?["name"] == "olga" && document["by"]?["role"] == "ops" && document["reason"] == "topic recreated")
    }
}
