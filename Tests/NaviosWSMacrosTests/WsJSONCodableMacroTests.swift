// @WsJSONCodable writes the codec a synthesized Codable implies: every stored property by its
// name, optionals that may be missing, a `let` with an initial value written but not read.
import SwiftSyntaxMacrosGenericTestSupport
import Testing

@Suite struct WsJSONCodableMacroTests {
    @Test func storedPropertiesBecomeMembers() {
        MacroTesting.assertExpansion(
            #"""
            @WsJSONCodable
            public struct ChatMessage: Codable {
                public var room: String
                public var replyTo: Int?
                let version = 2
                var `class`: [String]
                static var count = 0
                var length: Int { room.count }
            }
            """#,
            expandsTo: #"""
            public struct ChatMessage: Codable {
                public var room: String
                public var replyTo: Int?
                let version = 2
                var `class`: [String]
                static var count = 0
                var length: Int { room.count }
            }

            extension ChatMessage: NaviosWS.WsJSONCodable {
                public init(wsJSON __macro_local_6readerfMu_: inout NaviosWS.WsJSONReader) throws {
                    var __macro_local_4roomfMu_ = NaviosWS.WsJSONReader.slot(for: Self.self) {
                        $0.room
                    }
                    var __macro_local_7replyTofMu_ = NaviosWS.WsJSONReader.slot(for: Self.self) {
                        $0.replyTo
                    }
                    var __macro_local_5classfMu_ = NaviosWS.WsJSONReader.slot(for: Self.self) {
                        $0.`class`
                    }
                    var __macro_local_7membersfMu_ = try __macro_local_6readerfMu_.beginObject()
                    while try __macro_local_6readerfMu_.nextMember(&__macro_local_7membersfMu_) {
                        if __macro_local_6readerfMu_.isKey(#"room"#) {
                            try __macro_local_6readerfMu_.read(into: &__macro_local_4roomfMu_)
                        } else if __macro_local_6readerfMu_.isKey(#"replyTo"#) {
                            try __macro_local_6readerfMu_.read(into: &__macro_local_7replyTofMu_)
                        } else if __macro_local_6readerfMu_.isKey(#"class"#) {
                            try __macro_local_6readerfMu_.read(into: &__macro_local_5classfMu_)
                        } else {
                            try __macro_local_6readerfMu_.skipValue()
                        }
                    }
                    guard let __macro_local_4roomfMu_ else {
                        throw __macro_local_6readerfMu_.decline()
                    }
                    self.room = __macro_local_4roomfMu_
                    self.replyTo = __macro_local_7replyTofMu_ ?? nil
                    guard let __macro_local_5classfMu_ else {
                        throw __macro_local_6readerfMu_.decline()
                    }
                    self.`class` = __macro_local_5classfMu_
                }
                public func encode(wsJSON __macro_local_6outputfMu_: inout NaviosWS.WsJSONOutput) throws {
                    var __macro_local_7membersfMu_ = __macro_local_6outputfMu_.beginObject()
                    try __macro_local_6outputfMu_.write(#""room":"#, self.room, in: &__macro_local_7membersfMu_)
                    try __macro_local_6outputfMu_.write(#""replyTo":"#, self.replyTo, in: &__macro_local_7membersfMu_)
                    try __macro_local_6outputfMu_.write(#""version":"#, self.version, in: &__macro_local_7membersfMu_)
                    try __macro_local_6outputfMu_.write(#""class":"#, self.`class`, in: &__macro_local_7membersfMu_)
                    __macro_local_6outputfMu_.endObject()
                }
            }
            """#)
    }

    @Test func typesThatCodeThemselvesAreRefused() {
        MacroTesting.assertExpansion(
            #"""
            @WsJSONCodable
            struct Renamed: Codable {
                var userName: String
                enum CodingKeys: String, CodingKey { case userName = "user_name" }
            }
            """#,
            expandsTo: #"""
            struct Renamed: Codable {
                var userName: String
                enum CodingKeys: String, CodingKey { case userName = "user_name" 
            }
            }
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@WsJSONCodable writes the JSON from the stored properties; this struct declares its own CodingKeys, so use Codable alone",
                line: 4, column: 5)])
    }

    @Test func classesAndGenericsAreRefused() {
        MacroTesting.assertExpansion(
            #"""
            @WsJSONCodable
            final class Box: Codable {}
            """#,
            expandsTo: #"""
            final class Box: Codable {}
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@WsJSONCodable applies to a struct; write the WsJSONCodable conformance by hand for other types",
                line: 1, column: 1)])
        MacroTesting.assertExpansion(
            #"""
            @WsJSONCodable
            struct Box<T: Codable>: Codable { var value: T }
            """#,
            expandsTo: #"""
            struct Box<T: Codable>: Codable { var value: T 
            }
            """#,
            diagnostics: [DiagnosticSpec(
                message: "@WsJSONCodable does not apply to a generic struct, whose members' coding depends on its arguments; use Codable",
                line: 1, column: 1)])
    }
}
