import Testing
@testable import NaviosWS

/// Schema rules at their boundaries (the limit passes, one past it fails), optional fields,
/// custom rules, several issues at once and paths through nested objects and arrays.
@Suite struct PayloadValidationEventsTests {
    typealias F = EventsFixtures

    func chat(roomId: String = "general", text: String = "hi", priority: Int = 5) -> String {
        // The test strings hold no characters that need escaping.
        #"{"roomId":"\#(roomId)","text":"\#(text)","priority":\#(priority)}"#
    }

    // MARK: - Strings

    @Test func maxLengthPassesAtTheLimitAndFailsOnePast() {
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(1000))) == [])
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(1001)))
                == [F.issue("text", "must be at most 1000 characters")])
    }

    @Test func minLengthPassesAtTheLimitAndFailsOneShort() {
        #expect(F.issues(F.ChatMessage.self, chat(roomId: "a")) == [])
        #expect(F.issues(F.ChatMessage.self, chat(roomId: ""))
                == [F.issue("roomId", "must be at least 1 character"),
                    F.issue("roomId", "must match the pattern ^[a-z0-9-]+$")])
    }

    /// Lengths are UTF-16 code units, as zod and a browser's `length` count them.
    @Test func lengthCountsUTF16CodeUnits() {
        // "é" precomposed is 1 unit; "😀" is 2; "e" + combining acute is 2 (one Character).
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(1000, of: "é"))) == [])
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(500, of: "😀"))) == [])
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(500, of: "😀") + "x"))
                == [F.issue("text", "must be at most 1000 characters")])
        #expect(F.issues(F.ChatMessage.self, chat(text: F.string(501, of: "e\u{301}")))
                == [F.issue("text", "must be at most 1000 characters")])
    }

    @Test(arguments: ["general", "room-42", "a", F.string(64)])
    func patternAcceptsMatchingStrings(roomId: String) {
        #expect(F.issues(F.ChatMessage.self, chat(roomId: roomId)) == [])
    }

    @Test(arguments: ["General", "room 42", "room_42", "général", "x/y"])
    func patternRejectsOtherStrings(roomId: String) {
        #expect(F.issues(F.ChatMessage.self, chat(roomId: roomId))
                == [F.issue("roomId", "must match the pattern ^[a-z0-9-]+$")])
    }

    @Test func maxLengthAndPatternAreBothReported() {
        #expect(F.issues(F.ChatMessage.self, chat(roomId: F.string(65, of: "A")))
                == [F.issue("roomId", "must be at most 64 characters"),
                    F.issue("roomId", "must match the pattern ^[a-z0-9-]+$")])
    }

    // MARK: - Numbers

    @Test(arguments: [0, 10])
    func numberPassesAtBothEnds(priority: Int) {
        #expect(F.issues(F.ChatMessage.self, chat(priority: priority)) == [])
    }

    @Test func numberFailsOnePastEitherEnd() {
        #expect(F.issues(F.ChatMessage.self, chat(priority: -1)) == [F.issue("priority", "must be at least 0")])
        #expect(F.issues(F.ChatMessage.self, chat(priority: 11)) == [F.issue("priority", "must be at most 10")])
    }

    @Test func doubleBoundsAreInclusive() {
        #expect(F.issues(F.Measurement.self, #"{"celsius":-273.15}"#) == [])
        #expect(F.issues(F.Measurement.self, #"{"celsius":1000}"#) == [])
        #expect(F.issues(F.Measurement.self, #"{"celsius":-273.16}"#)
                == [F.issue("celsius", "must be at least -273.15")])
        #expect(F.issues(F.Measurement.self, #"{"celsius":1000.001}"#)
                == [F.issue("celsius", "must be at most 1000.0")])
    }

    // MARK: - Optional fields

    @Test func optionalFieldsPassWhenNilOrAbsent() {
        #expect(F.issues(F.Profile.self, #"{"nickname":"ann"}"#) == [])
        #expect(F.issues(F.Profile.self, #"{"nickname":"ann","bio":null,"age":null,"score":null,"tags":null}"#) == [])
    }

    @Test func optionalFieldsAreCheckedWhenPresent() {
        #expect(F.issues(F.Profile.self, #"{"nickname":"abcd","bio":"abc","age":13,"score":1,"tags":["a","b"]}"#) == [])
        #expect(F.issues(F.Profile.self, #"{"nickname":"ab","age":120,"score":0}"#) == [])
        #expect(F.issues(F.Profile.self, #"{"nickname":"abcde","bio":"abcd","age":12,"score":1.5,"tags":["a","b","c"]}"#)
                == [F.issue("nickname", "must be at most 4 characters"),
                    F.issue("bio", "must be at most 3 characters"),
                    F.issue("age", "must be at least 13"),
                    F.issue("score", "must be at most 1.0"),
                    F.issue("tags", "must have at most 2 items")])
        #expect(F.issues(F.Profile.self, #"{"nickname":"a","age":121,"score":-0.5}"#)
                == [F.issue("nickname", "must be at least 2 characters"),
                    F.issue("age", "must be at most 120"),
                    F.issue("score", "must be at least 0.0")])
    }

    @Test func requiredOptionalFieldFailsWhenNil() {
        #expect(F.issues(F.Profile.self, "{}") == [F.issue("nickname", "missing")])
        #expect(F.issues(F.Profile.self, #"{"nickname":null}"#) == [F.issue("nickname", "missing")])
    }

    // MARK: - Custom rules

    @Test func customRuleReportsItsMessageAtItsPath() {
        #expect(F.issues(F.ChatMessage.self, chat(text: " x ")) == [])
        #expect(F.issues(F.ChatMessage.self, chat(text: "   ")) == [F.issue("text", "must not be blank")])
    }

    @Test func customRuleOverTheWholePayloadHasAnEmptyPath() {
        let json = #"{"author":{"name":"ann"},"reviewer":{"name":"ann"},"items":[{"name":"a","quantity":1}],"order_note":""}"#
        #expect(F.issues(F.Order.self, json) == [F.issue("", "must not be reviewed by its author")])
    }

    // MARK: - Several issues, nesting, arrays

    @Test func everyIssueIsReportedInRuleOrder() {
        let error = F.failure(F.ChatMessage.self, chat(roomId: "Bad Room", text: " ", priority: 99))
        #expect(error?.code == "invalid_payload")
        #expect(error?.message == "payload failed validation")
        #expect(error?.issues == [
            F.issue("roomId", "must match the pattern ^[a-z0-9-]+$"),
            F.issue("priority", "must be at most 10"),
            F.issue("text", "must not be blank"),
        ])
    }

    @Test func nestedObjectArrayAndRenamedKeyPaths() {
        let json = """
            {"author":{"name":"annabel"},"reviewer":{"name":"bartholomew"},
             "items":[{"name":"tea","quantity":1},{"name":"","quantity":0},{"name":"jam","quantity":3},{"name":"","quantity":1}],
             "order_note":"abc"}
            """
        #expect(F.issues(F.Order.self, json) == [
            F.issue("author.name", "must be at most 5 characters"),
            F.issue("reviewer.name", "must be at most 5 characters"),
            F.issue("items", "must have at most 3 items"),
            F.issue("items.1.name", "must be at least 1 character"),
            F.issue("items.1.quantity", "must be at least 1"),
            F.issue("items.3.name", "must be at least 1 character"),
            F.issue("order_note", "must be at most 2 characters"),
        ])
    }

    @Test func arrayCountPassesAtTheLimits() {
        let one = #"{"author":{"name":"a"},"items":[{"name":"a","quantity":1}],"order_note":""}"#
        let none = #"{"author":{"name":"a"},"items":[],"order_note":""}"#
        #expect(F.issues(F.Order.self, one) == [])
        #expect(F.issues(F.Order.self, none) == [F.issue("items", "must have at least 1 item")])
    }

    @Test func recursiveTypeIsValidatedAtEveryDepth() {
        let json = #"{"text":"a","replies":[{"text":"b","replies":[]},{"text":"c","replies":[{"text":"","replies":[]}]}]}"#
        #expect(F.issues(F.Comment.self, json) == [F.issue("replies.1.replies.0.text", "must be at least 1 character")])
    }

    @Test func topLevelArrayOfValidatablePayloadsIsValidatedPerElement() {
        #expect(F.issues([F.Item].self, #"[{"name":"a","quantity":1},{"name":"b","quantity":0}]"#)
                == [F.issue("1.quantity", "must be at least 1")])
    }

    @Test func optionalValidatablePayloadIsValidatedWhenPresent() {
        #expect(F.issues(F.Item?.self, #"{"name":"","quantity":1}"#) == [F.issue("name", "must be at least 1 character")])
        #expect(F.issues(F.Item?.self, "null") == [])
    }

    @Test func schemaValidatesValuesDirectly() {
        let message = F.ChatMessage(roomId: "ok", text: String(repeating: "a", count: 1001), priority: 0)
        #expect(F.ChatMessage.schema.validate(message) == [F.issue("text", "must be at most 1000 characters")])
    }

    @Test func typesWithoutSchemaAreOnlyDecoded() throws {
        #expect(try F.decode(F.RoomRef.self, #"{"roomId":""}"#) == F.RoomRef(roomId: ""))
    }
}
