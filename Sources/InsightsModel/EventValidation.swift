extension AnalyticsEvent {
    /// Validates every field (see ``EventLimits``) and throws the first
    /// problem, checking fields in JSON key order. `agent_id` may be absent.
    /// In `data`, a `null` `intent` or `escalated_to_human` counts as absent.
    ///
    /// - Parameter now: the current time in epoch milliseconds; the timestamp
    ///   may be at most 5 minutes after it.
    public func validate(now: Int64) throws(EventValidationError) {
        try checkEventID()
        try checkTimestamp(now: now)
        try checkSessionID()
        try checkUserID()
        try checkAgentID(required: false)
        try checkData()
        try checkTextFields()
        try checkDurations()
        try checkConfidence()
        try checkSentiment()
    }

    /// Like ``validate(now:)``, but `agent_id` is required: an event must
    /// belong to an agent before it is written to Redis.
    public func validateForIngest(now: Int64) throws(EventValidationError) {
        try validate(now: now)
        try checkAgentID(required: true)
    }

    /// Every validation problem, at most one per field, in JSON key order
    /// (empty if the event is valid). Useful for error responses that list
    /// all problems at once.
    public func validationErrors(now: Int64, requireAgentID: Bool = false) -> [EventValidationError] {
        var errors: [EventValidationError] = []
        func collect(_ check: () throws(EventValidationError) -> Void) {
            do throws(EventValidationError) {
                try check()
            } catch {
                errors.append(error)
            }
        }
        collect { () throws(EventValidationError) in try checkEventID() }
        collect { () throws(EventValidationError) in try checkTimestamp(now: now) }
        collect { () throws(EventValidationError) in try checkSessionID() }
        collect { () throws(EventValidationError) in try checkUserID() }
        collect { () throws(EventValidationError) in try checkAgentID(required: requireAgentID) }
        collect { () throws(EventValidationError) in try checkData() }
        collect { () throws(EventValidationError) in try checkText(channel, field: "channel") }
        collect { () throws(EventValidationError) in try checkText(platform, field: "platform") }
        collect { () throws(EventValidationError) in try checkText(location, field: "location") }
        collect { () throws(EventValidationError) in try checkDuration(durationMs, field: "duration_ms") }
        collect { () throws(EventValidationError) in
            try checkDuration(responseTimeMs, field: "response_time_ms")
        }
        collect { () throws(EventValidationError) in try checkConfidence() }
        collect { () throws(EventValidationError) in try checkSentiment() }
        return errors
    }

    // MARK: - Per-field checks

    private func checkEventID() throws(EventValidationError) {
        try FieldRules.checkID(eventID, field: "event_id")
    }

    private func checkSessionID() throws(EventValidationError) {
        try FieldRules.checkID(sessionID, field: "session_id")
    }

    private func checkUserID() throws(EventValidationError) {
        if let userID { try FieldRules.checkID(userID, field: "user_id") }
    }

    private func checkAgentID(required: Bool) throws(EventValidationError) {
        if let agentID {
            try FieldRules.checkID(agentID, field: "agent_id")
        } else if required {
            throw EventValidationError(field: "agent_id", message: "is required")
        }
    }

    private func checkTimestamp(now: Int64) throws(EventValidationError) {
        if timestampMs < EventLimits.minTimestampMs {
            throw EventValidationError(
                field: "timestamp",
                message: "must not be before 2000-01-01T00:00:00Z (got \(ISO8601.format(ms: timestampMs)))")
        }
        let (latest, overflow) = now.addingReportingOverflow(EventLimits.maxFutureSkewMs)
        if !overflow && timestampMs > latest {
            throw EventValidationError(
                field: "timestamp",
                message: "must not be more than 5 minutes in the future "
                    + "(got \(ISO8601.format(ms: timestampMs)), now \(ISO8601.format(ms: now)))")
        }
    }

    private func checkData() throws(EventValidationError) {
        guard !data.isEmpty else { return }
        if JSONValue.object(data).nestingDepthExceeds(EventLimits.maxDataDepth) {
            throw EventValidationError(
                field: "data",
                message: "nesting depth must be at most \(EventLimits.maxDataDepth) "
                    + "(data itself is level 1)")
        }
        var counter = CountingSink()
        JSONWriter.writeObject(data, to: &counter)
        if counter.count > EventLimits.maxDataBytes {
            throw EventValidationError(
                field: "data",
                message: "must be at most \(EventLimits.maxDataBytes) bytes as compact JSON "
                    + "(got \(counter.count))")
        }
        switch data["intent"] {
        case nil, .null?:
            break
        case .string(let intent)?:
            try FieldRules.checkText(
                intent, field: "data.intent", maxLength: EventLimits.maxIntentLength, allowEmpty: false)
        case _?:
            throw EventValidationError(field: "data.intent", message: "must be a string")
        }
        switch data["escalated_to_human"] {
        case nil, .null?, .bool?:
            break
        case _?:
            throw EventValidationError(
                field: "data.escalated_to_human", message: "must be a boolean (true or false)")
        }
    }

    private func checkTextFields() throws(EventValidationError) {
        try checkText(channel, field: "channel")
        try checkText(platform, field: "platform")
        try checkText(location, field: "location")
    }

    private func checkSentiment() throws(EventValidationError) {
        try checkText(sentiment, field: "sentiment")
    }

    private func checkText(_ value: String?, field: String) throws(EventValidationError) {
        if let value {
            try FieldRules.checkText(value, field: field, maxLength: EventLimits.maxTextLength)
        }
    }

    private func checkDurations() throws(EventValidationError) {
        try checkDuration(durationMs, field: "duration_ms")
        try checkDuration(responseTimeMs, field: "response_time_ms")
    }

    private func checkDuration(_ value: Int?, field: String) throws(EventValidationError) {
        guard let value else { return }
        if value < 0 {
            throw EventValidationError(field: field, message: "must not be negative (got \(value))")
        }
        if value > EventLimits.maxDurationMs {
            throw EventValidationError(
                field: field,
                message: "must be at most \(EventLimits.maxDurationMs) ms "
                    + "(a 24-hour sanity cap; got \(value))")
        }
    }

    private func checkConfidence() throws(EventValidationError) {
        guard let confidence else { return }
        if !confidence.isFinite {
            throw EventValidationError(field: "confidence", message: "must be a finite number")
        }
        if confidence < 0 || confidence > 1 {
            throw EventValidationError(
                field: "confidence", message: "must be between 0 and 1 (got \(confidence))")
        }
    }
}
