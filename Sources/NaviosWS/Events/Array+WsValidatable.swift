/// An array of validatable values is validated element by element, with the index in each path
/// (`2.name`), so a `[ChatMessage]` payload or a `nested("items", \.items)` rule needs nothing more.
extension Array: WsValidatable where Element: WsValidatable {
    public static var schema: WsSchema<[Element]> {
        WsSchema(rule: { elements, issues in
            for (index, element) in elements.enumerated() {
                for issue in element.validationIssues() {
                    issues.append(issue.prefixed(by: String(index)))
                }
            }
        })
    }
}
