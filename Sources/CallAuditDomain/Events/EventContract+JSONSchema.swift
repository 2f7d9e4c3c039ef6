/// The published contract: one JSON Schema (draft 2020-12) per event type,
/// generated from `EventContract` so the two cannot drift. Personal-data
/// members carry `"x-pii": true`.
extension EventContract {
    package static let schemaBaseURI = "https://callaudit.example/schemas/events/"

    package static func jsonSchema(for type: EventType) -> JSONValue {
        jsonSchema(
            typeName: type.rawValue, data: data(of: type),
            description: "CloudEvents 1.0 event of type \(type.rawValue) on the \(type.topic.rawValue) topic (structured form).")
    }

    /// One of CallAudit's own events, as it stores them.
    package static func jsonSchema(for type: OwnEventType) -> JSONValue {
        jsonSchema(
            typeName: type.rawValue, data: type.data,
            description: "CloudEvents 1.0 event of type \(type.rawValue), written by CallAudit itself (source \(OwnEventType.source)); producers cannot publish it.")
    }

    private static func jsonSchema(typeName: String, data: ObjectShape, description: String) -> JSONValue {
        let attributes: [(key: String, value: JSONValue)] = [
            ("specversion", ["const": "1.0"]),
            ("id", ["type": "string", "minLength": 1, "maxLength": .number(Double(Shape.identifierMaxLength))]),
            ("source", ["type": "string", "minLength": 1, "maxLength": .number(Double(Shape.identifierMaxLength))]),
            ("type", ["const": .string(typeName)]),
            ("time", ["type": "string", "format": "date-time"]),
            ("datacontenttype", ["type": "string"]),
            ("dataschema", ["type": "string"]),
            ("subject", ["type": "string"]),
            ("data", schema(of: .object(data))),
        ]
        return [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": .string(schemaBaseURI + typeName + ".schema.json"),
            "title": .string(typeName),
            "description": .string(description),
            "type": "object",
            "required": ["specversion", "id", "source", "type", "time", "data"],
            "properties": .object(attributes),
            "additionalProperties": true,
        ]
    }

    static func schema(of shape: Shape) -> JSONValue {
        switch shape {
        case .nonEmptyString: return ["type": "string", "minLength": 1, "maxLength": .number(Double(Shape.identifierMaxLength))]
        case .identifier(let reservedPrefix):
            return [
                "type": "string", "minLength": 1, "maxLength": .number(Double(Shape.identifierMaxLength)),
                "not": ["pattern": .string("^" + reservedPrefix)],
            ]
        case .text: return ["type": "string", "minLength": 1, "maxLength": .number(Double(Shape.textMaxLength))]
        case .string: return ["type": "string", "maxLength": .number(Double(Shape.textMaxLength))]
        case .boolean: return ["type": "boolean"]
        case .integer(let minimum): return ["type": "integer", "minimum": .number(Double(minimum))]
        case .number(let minimum): return ["type": "number", "minimum": .number(minimum)]
        case .oneOf(let values): return ["type": "string", "enum": .array(values.map { .string($0) })]
        case .pattern(let pattern):
            return ["type": "string", "pattern": .string(pattern.regularExpression), "description": .string(pattern.summary)]
        case .list(let element, let minItems):
            return ["type": "array", "items": schema(of: element), "minItems": .number(Double(minItems))]
        case .nullable(let inner):
            return ["oneOf": [["type": "null"], schema(of: inner)]]
        case .object(let object):
            var members: [(key: String, value: JSONValue)] = [
                ("type", "object"),
                ("required", .array(object.fields.filter(\.required).map { .string($0.name) })),
                (
                    "properties",
                    .object(
                        object.fields.map { field in
                            var property = schema(of: field.shape)
                            if field.pii, case .object(var m) = property {
                                m.append((key: "x-pii", value: true))
                                property = .object(m)
                            }
                            return (key: field.name, value: property)
                        }
                            // A reserved member may not appear at all.
                            + object.reserved.map { (key: $0, value: false) })
                ),
                ("additionalProperties", true),
            ]
            if !object.atLeastOneOf.isEmpty {
                members.append(
                    (key: "anyOf", value: .array(object.atLeastOneOf.map { ["required": [.string($0)]] })))
            }
            return .object(members)
        }
    }
}

extension JSONValue {
    /// Indented JSON with members in their given order, for files people read.
    package func prettyPrinted(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .array(let elements) where !elements.isEmpty:
            if elements.allSatisfy({ if case .string = $0 { true } else { false } }) {
                return "[" + elements.map { $0.canonicalString }.joined(separator: ", ") + "]"
            }
            return "[\n" + elements.map { inner + $0.prettyPrinted(indent: inner) }.joined(separator: ",\n") + "\n\(indent)]"
        case .object(let members) where !members.isEmpty:
            let lines = members.map { member in
                inner + JSONValue.string(member.key).canonicalString + ": " + member.value.prettyPrinted(indent: inner)
            }
            return "{\n" + lines.joined(separator: ",\n") + "\n\(indent)}"
        default:
            return canonicalString
        }
    }
}
