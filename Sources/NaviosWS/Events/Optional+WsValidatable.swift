/// An optional validatable value passes when absent and is validated when present, so optional
/// payloads and optional nested objects need no rule of their own.
extension Optional: WsValidatable where Wrapped: WsValidatable {
    public static var schema: WsSchema<Wrapped?> {
        WsSchema(rule: { value, issues in
            if let value {
                issues.append(contentsOf: value.validationIssues())
            }
        })
    }
}
