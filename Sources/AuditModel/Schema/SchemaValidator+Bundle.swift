// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

// Foundation for `Bundle.module` only (SwiftPM generates it); kept apart so the fuzz build, which
// compiles these sources with plain swiftc, can leave it out.
import Foundation

extension SchemaValidator {
    /// The validator for the schema files bundled with this module (copied from `schemas/` at build
    /// time, so it works from any working directory).
    /// - Throws: ``DecodeError`` `schemaNotFound` if the resource bundle is missing.
    public static func bundled() throws -> SchemaValidator {
        guard let directory = Bundle.module.resourceURL else {
            throw DecodeError(.schemaNotFound, "the AuditModel resource bundle has no resource directory")
        }
        return try SchemaValidator(directory: directory.path)
    }
}
