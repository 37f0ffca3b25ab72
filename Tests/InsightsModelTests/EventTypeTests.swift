import Foundation
import InsightsModel
import Testing

@Suite struct EventTypeTests {
    @Test func hasTheSeedsThirteenRawValues() {
        #expect(EventType.allCases.map(\.rawValue) == [
            "conversation_start", "conversation_end", "user_message", "bot_response",
            "intent_classified", "entity_extracted", "workflow_started", "workflow_completed",
            "workflow_failed", "api_call", "error", "user_feedback", "custom",
        ])
    }

    @Test func codesAsItsRawString() throws {
        let data = try JSONEncoder().encode([EventType.botResponse])
        #expect(String(decoding: data, as: UTF8.self) == #"["bot_response"]"#)
        #expect(try JSONDecoder().decode([EventType].self, from: data) == [.botResponse])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([EventType].self, from: Data(#"["nope"]"#.utf8))
        }
    }

    @Test func messageTypes() {
        #expect(EventType.allCases.filter(\.isMessage) == [.userMessage, .botResponse])
    }
}
