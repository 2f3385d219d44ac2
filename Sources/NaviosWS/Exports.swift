// What `import NaviosWS` brings: the engine (NaviosWSCore) and the JSON codecs (NaviosJSON)
// are part of the gateway API (handlers see connections; @WsJSONCodable expands to NaviosJSON's
// reader and output).
@_exported public import NaviosJSON
@_exported public import NaviosWSCore
