/// How many of a batch's events came from each topic (own events, from none, are not counted).
enum TopicCounts {
    /// A batch holds long runs of one topic, so a run is counted by comparing
    /// names (the same String storage, from the consumer's topic cache) and
    /// the dictionary is touched once per run, not hashed once per event.
    static func of(_ events: [IncomingEvent]) -> [String: Int] {
        var counts: [String: Int] = [:]
        var run: (topic: String, count: Int)?
        for index in events.indices {
            guard let topic = events[index].origin?.topic else { continue }
            if let current = run, current.topic == topic {
                run = (topic, current.count + 1)
                continue
            }
            if let current = run { counts[current.topic, default: 0] += current.count }
            run = (topic, 1)
        }
        if let current = run { counts[current.topic, default: 0] += current.count }
        return counts
    }
}
