// AuditTrail — test kit
// SPDX-License-Identifier: Apache-2.0

import AuditTraffic

extension SampleNotifications {
    /// One audited OpenStack API, after the audit maps of `interop/gen_corpus.py`.
    struct Service {
        var publisher: String
        var name: String
        var internalHost: String
        var publicHost: String
        var prefix: String
        /// (method, path, CADF action, target typeURI) templates; `{id}` is replaced by a fresh id.
        var calls: [(String, String, String, String)]

        func call(_ random: inout SeededRandom) -> (String, String, String, String) {
            let (method, template, action, type) = calls[random.next(below: calls.count)]
            var path = prefix
            for part in template.split(separator: "{id}", omittingEmptySubsequences: false).enumerated() {
                path += (part.offset > 0 ? random.uuid() : "") + part.element
            }
            return (method, path, action, type)
        }
    }

    static let services: [Service] = [
        Service(
            publisher: "nova-api-wsgi", name: "nova", internalHost: "nova.internal.cloud.example:8774",
            publicHost: "compute.cloud.example:8774", prefix: "/v2.1",
            calls: [
                ("GET", "/servers/detail", "read/list", "service/compute/servers/detail"),
                ("GET", "/servers", "read/list", "service/compute/servers"),
                ("POST", "/servers", "create", "service/compute/servers"),
                ("GET", "/servers/{id}", "read", "service/compute/servers/server"),
                ("DELETE", "/servers/{id}", "delete", "service/compute/servers/server"),
                ("POST", "/servers/{id}/action", "update/os-start", "service/compute/servers/server/action"),
                ("GET", "/servers/{id}/os-instance-actions", "read/list", "service/compute/servers/server/os-instance-actions"),
                ("GET", "/flavors/detail", "read/list", "service/compute/flavors/detail"),
                ("GET", "/os-hypervisors/detail", "read/list", "service/compute/os-hypervisors/detail"),
            ]),
        Service(
            publisher: "keystone-wsgi-public", name: "keystone", internalHost: "keystone.internal.cloud.example:5000",
            publicHost: "identity.cloud.example:5000", prefix: "/v3",
            calls: [
                ("POST", "/auth/tokens", "authenticate", "service/identity/auth/tokens"),
                ("GET", "/auth/tokens", "read/token", "service/identity/auth/tokens"),
                ("DELETE", "/auth/tokens", "delete/token", "service/identity/auth/tokens"),
                ("GET", "/users/{id}", "read", "service/identity/users/user"),
                ("GET", "/projects", "read/list", "service/identity/projects"),
                ("PATCH", "/users/{id}", "update", "service/identity/users/user"),
            ]),
        Service(
            publisher: "glance-api", name: "glance", internalHost: "glance.internal.cloud.example:9292",
            publicHost: "image.cloud.example:9292", prefix: "",
            calls: [
                ("GET", "/v2/images", "read/list", "service/storage/image/images"),
                ("GET", "/v2/images/{id}", "read", "service/storage/image/images/image"),
                ("GET", "/v2/images/{id}/file", "read/download", "service/storage/image/images/image/file"),
                ("PUT", "/v2/images/{id}/tags/gold", "update", "service/storage/image/images/image/tags/tag"),
                ("DELETE", "/v2/images/{id}", "delete", "service/storage/image/images/image"),
            ]),
        Service(
            publisher: "ironic-api-wsgi", name: "ironic", internalHost: "ironic.internal.cloud.example:6385",
            publicHost: "baremetal.cloud.example:6385", prefix: "",
            calls: [
                ("GET", "/v1/nodes/detail", "read/list", "service/compute/baremetal/nodes/detail"),
                ("PUT", "/v1/nodes/{id}/states/power", "update/power", "service/compute/baremetal/nodes/node/states/power"),
                ("GET", "/v1/nodes/{id}/validate", "read/validate", "service/compute/baremetal/nodes/node/validate"),
            ]),
    ]

    static let statuses = [200, 200, 200, 200, 200, 200, 201, 202, 204, 204, 302, 400, 401, 403, 404, 404, 409, 500, 503]
    static let agents = [
        "openstacksdk/3.3.0 keystoneauth1/5.8.0 python-requests/2.32.3 CPython/3.12.3", "python-novaclient",
        "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Horizon", "terraform-provider-openstack/2.1.0 caf\u{e9}",
    ]
}
