import CallAuditDomain
import CallAuditKafka

extension OperationsStatus {
    /// The status as `GET /v1/status` returns it (schema `Status` in the OpenAPI document).
    package var json: JSONValue {
        [
            "sampled_at": .string(sampledAt.rfc3339),
            "database": [
                "role": .string(database.name), "superuser": .bool(database.isSuperuser),
                "owns_event_tables": .bool(database.ownsEventTables), "privileged": .bool(database.isPrivileged),
            ],
            "kafka": kafkaJSON,
            "ingest": [
                "rate_per_second": .number(rounded(ingest.ratePerSecond)),
                "window_seconds": .number(rounded(ingest.windowSeconds)),
                "history": .array(ingest.history.map { ["at": .string($0.at.rfc3339), "per_second": .number(rounded($0.perSecond))] }),
                "consumed": .number(Double(ingest.consumed)),
                "head_position": .number(Double(ingest.headPosition)),
            ],
            "projections": .array(projections.map(\.json)),
            "horizon_holder": horizonHolder.map { .string($0) } ?? .null,
            "leaderships": .array(leaderships.map {
                ["name": .string($0.name), "epoch": .number(Double($0.epoch)), "holder": .string($0.holder), "acquired_at": .string($0.acquiredAt)]
            }),
            "dead_letters": [
                "total": .number(Double(deadLetters.reduce(0) { $0 + $1.count })),
                "open": .number(Double(deadLetters.filter { $0.status == "open" }.reduce(0) { $0 + $1.count })),
                "by_reason": .array(deadLetters.map { ["reason": .string($0.reason), "status": .string($0.status), "count": .number(Double($0.count))] }),
            ],
            "subject_requests": [
                "open": .number(Double(openRequests.count)),
                "overdue": .number(Double(openRequests.filter { $0.dueAt.map { $0 < sampledAt } ?? false }.count)),
                "by_deadline": .array(openRequests.map(requestJSON)),
            ],
            "findings_today": [
                "day": .string(today),
                "total": .number(Double(findingsToday.reduce(0) { $0 + $1.count })),
                "by_rule": .array(findingsToday.map { ["rule": .string($0.rule), "count": .number(Double($0.count))] }),
            ],
            "reports": ["unissued_closed_periods": .array(unissuedReports.map { .string($0) })],
            "integrity": [
                "latest_seal": integrity.latestSeal.map { .number(Double($0)) } ?? .null,
                "sealed_through_position": integrity.sealedThrough.map { .number(Double($0)) } ?? .null,
                "latest_seal_at": integrity.latestSealAt.map { .string($0.rfc3339) } ?? .null,
                "unsealed_events": .number(Double(integrity.unsealedEvents)),
                "seal_lag_seconds": .number(rounded(integrity.sealLagSeconds)),
                "event_conflicts": .number(Double(integrity.conflicts)),
            ],
        ]
    }

    private var kafkaJSON: JSONValue {
        [
            "consumer_group": .string(kafka.consumerGroup),
            "reachable": .bool(kafka.reachable),
            "error": kafka.error.map { .string($0) } ?? .null,
            "total_lag": kafka.totalLag.map { .number(Double($0)) } ?? .null,
            // Partitions whose ingest has stopped at a gap, at the top so nobody has to look for them.
            "gaps": .array(kafka.gaps.map(Self.gapJSON)),
            "partitions": .array(kafka.partitions.map { partition in
                [
                    "topic": .string(partition.topic), "partition": .number(Double(partition.partition)),
                    "stored_offset": .number(Double(partition.storedOffset)),
                    "low_watermark": partition.lowWatermark.map { .number(Double($0)) } ?? .null,
                    "high_watermark": partition.highWatermark.map { .number(Double($0)) } ?? .null,
                    "lag": partition.lag.map { .number(Double($0)) } ?? .null,
                    "gap": partition.gap.map(Self.gapJSON) ?? .null,
                    "ingest_stopped": .bool(partition.ingestStopped),
                ]
            }),
        ]
    }

    private static func gapJSON(_ gap: RetentionGap) -> JSONValue {
        [
            "topic": .string(gap.partition.topic), "partition": .number(Double(gap.partition.partition)), "kind": .string(gap.kind.rawValue),
            "stored_offset": .number(Double(gap.storedOffset)), "low_watermark": .number(Double(gap.watermarks.low)),
            "high_watermark": .number(Double(gap.watermarks.high)), "messages": .number(Double(gap.messages)),
            "lost_from_offset": .number(Double(gap.lostOffsets.lowerBound)), "lost_to_offset": .number(Double(gap.lostOffsets.upperBound)),
        ]
    }

    private func requestJSON(_ request: OpenRequest) -> JSONValue {
        [
            "id": .string(request.id), "kind": .string(request.kind), "regime": .string(request.regime),
            "received_at": .string(request.receivedAt.rfc3339), "due_at": request.dueAt.map { .string($0.rfc3339) } ?? .null,
            "seconds_left": request.dueAt.map { .number(rounded(Double($0.microseconds - sampledAt.microseconds) / 1e6)) } ?? .null,
            "extended": .bool(request.extended),
        ]
    }
}

extension OperationsStatus.Projection {
    var json: JSONValue {
        [
            "name": .string(name), "position": .number(Double(position)), "events_applied": .number(Double(eventsApplied)),
            "lag_events": .number(Double(lagEvents)), "lag_seconds": .number(rounded(lagSeconds)), "state": .string(state.rawValue),
            "updated_at": updatedAt.map { .string($0) } ?? .null,
            "quarantined": .array(quarantined.map {
                ["stream": .string($0.stream), "position": .number(Double($0.position)), "error": .string($0.error), "since": .string($0.since)]
            }),
        ]
    }
}

/// Three decimals: enough for rates and seconds, and stable in JSON.
private func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
