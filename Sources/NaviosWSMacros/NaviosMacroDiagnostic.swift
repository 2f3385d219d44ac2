// The errors the macros report. Each names the attribute and says what to write instead,
// because the user sees the message at the attribute, not the expansion.
import SwiftDiagnostics

struct NaviosMacroDiagnostic: DiagnosticMessage {
    let message: String
    let id: String
    let severity: DiagnosticSeverity

    init(_ id: String, _ message: String, severity: DiagnosticSeverity = .error) {
        self.id = id
        self.message = message
        self.severity = severity
    }

    var diagnosticID: MessageID { MessageID(domain: "NaviosWSMacros", id: id) }
}

/// A reading of user code: the value, or the diagnostic saying why there is none. (Not a
/// `Result`: a `Diagnostic` is not an `Error`.)
enum Checked<Value> {
    case valid(Value)
    case invalid(Diagnostic)
}
