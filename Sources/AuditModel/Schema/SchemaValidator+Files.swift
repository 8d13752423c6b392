// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

// Foundation only to find and read the schema files once at start (Bundle.module, file reads);
// nothing on the decode path uses it.
import Foundation

extension SchemaValidator {
    /// The validator for `cadf-event.schema.json` and `notification.schema.json` in `directory`
    /// (users may tighten the schemas and point the worker at their copy).
    /// - Throws: ``DecodeError`` `schemaNotFound`, `schemaUnreadable` or `unsupportedSchema`.
    public convenience init(directory: String) throws {
        var documents: [[UInt8]] = []
        for file in [Self.eventSchemaFile, Self.notificationSchemaFile] {
            let path = (directory as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else {
                throw DecodeError(.schemaNotFound, "no schema file at \(path)")
            }
            do {
                documents.append([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
            } catch {
                throw DecodeError(.schemaUnreadable, "cannot read \(path)", cause: error)
            }
        }
        try self.init(schemaDocuments: documents)
    }
}
