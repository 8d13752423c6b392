// AuditTrail — read side
// SPDX-License-Identifier: Apache-2.0

public import AuditStore

/// Which notifications a reader may see: all of them, or those of some projects
/// (`initiator.project_id`).
///
/// A scoped read is a store query on the index's project column (``StoreQuery/projectId``), one
/// per project: other projects' records are never decoded, and no page is filtered after the
/// fact.
public enum Visibility: Sendable, Hashable {
    /// Every record (a cloud admin, the command line).
    case all
    /// Only notifications of these projects; none for an empty set.
    case projects(Set<String>)
}

extension StoreReader {
    /// Every stored notification with CADF id `id` (both halves and any copies) that
    /// `visibility` lets its reader see.
    public func notifications(withId id: String, visibility: Visibility) throws(StoreError) -> [StoredRecord] {
        switch visibility {
        case .all:
            return try records(withId: id).filter { $0.record.kind == .notification }
        case .projects(let projects):
            var out: [StoredRecord] = []
            for project in projects.sorted() {
                var query = StoreQuery()
                query.id = id
                query.projectId = project
                out += try records(matching: query)
            }
            return out
        }
    }
}
