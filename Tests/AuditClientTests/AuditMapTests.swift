// AuditTrail — client tests
// SPDX-License-Identifier: Apache-2.0

import AuditClient
import AuditTesting
import Foundation
import Testing

/// A map in the shape of nova's and glance's `api_audit_map.conf`.
let sampleAuditMap = """
    [DEFAULT]
    # default target endpoint type
    target_endpoint_type = None

    [custom_actions]
    enable = enable
    disable = disable
    delete = delete
    startup = start/startup
    shutdown = stop/shutdown
    reboot = start/reboot
    os-migrations/get = read
    os-server-password/post = update
    detail = read/list

    [path_keywords]
    add = None
    action = None
    enable = None
    disable = None
    configure-project = None
    defaults = None
    delete = None
    detail = None
    diagnostics = None
    entries = entry
    extensions = alias
    flavors = flavor
    images = image
    ips = label
    limits = None
    metadata = key
    os-agents = os-agent
    os-aggregates = os-aggregate
    os-services = None
    servers = server
    volumes = volume
    v2.1 = None
    v2 = None

    [service_endpoints]
    compute = service/compute
    image = service/storage/image
    identity = service/security
    """

struct AuditMapTests {
    @Test func parsesLikeConfigparser() throws {
        let map = try AuditMap(parsing: sampleAuditMap)
        #expect(map.defaultTargetEndpointType == "None")
        #expect(map.pathKeywords["servers"] == "server")
        #expect(map.customActions["os-migrations/get"] == "read")
        #expect(map.serviceEndpoints["image"] == "service/storage/image")
        // configparser shows DEFAULT's keys in every section.
        #expect(map.pathKeywords["target_endpoint_type"] == "None")
        #expect(throws: AuditMap.ParseError.self) { try AuditMap(parsing: "key = value") }
        #expect(throws: AuditMap.ParseError.self) { try AuditMap(parsing: "[section\nkey = value") }
    }

    @Test func actionsAndTargetsMatchKeystonemiddleware() throws {
        let map = try AuditMap(parsing: sampleAuditMap)
        let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        let paths = [
            "/v2.1/servers", "/v2.1/servers/", "/v2.1/servers/detail", "/v2.1/servers/9a1b/action", "/v2.1/servers/9a1b",
            "/v2.1/servers/9a1b/ips/private", "/v2.1/servers/9a1b/metadata/key1", "/v2.1/flavors/detail.json",
            "/v2.1/os-services/enable", "/v2.1/os-migrations", "/v2.1/os-server-password", "/v2/images/abc/file",
            "/v3/auth/tokens", "/", "", "/v2.1/servers/abc/delete", "/v2.1/os-aggregates/7/action", "/v2.1/limits",
            "//v2.1//servers//", "/v2.1/servers.json", "/v2.1/servers.json/9a1b", "/.json", "/v2.1/servers/json",
            "/v2.1/servers/9a1b/action.json", "servers/9a1b", "/v2.1/servers/9a1b-9a1b-9a1b-9a1b-9a1b9a1b9a1b9a1b/ips",
        ]
        var cases: [[String: String]] = []
        for method in methods {
            for path in paths {
                for service in ["compute", "image", "identity", "baremetal"] {
                    var item = ["method": method, "path": path, "serviceType": service]
                    if method == "POST" && path.hasSuffix("action") { item["bodyFirstKey"] = "reboot" }
                    cases.append(item)
                }
            }
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("auditmap-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try sampleAuditMap.write(to: directory.appendingPathComponent("map.conf"), atomically: true, encoding: .utf8)
        let lines = try cases.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        try lines.joined(separator: "\n").write(to: directory.appendingPathComponent("cases.jsonl"), atomically: true, encoding: .utf8)
        let oracle = try Interop.runScript(
            "audit_map_oracle.py",
            [directory.appendingPathComponent("map.conf").path, directory.appendingPathComponent("cases.jsonl").path])
        #expect(oracle.status == 0, "\(oracle.stderr)")
        let answers = try oracle.lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: String] }
        #expect(answers.count == cases.count)
        for (item, answer) in zip(cases, answers) {
            let action = map.action(method: item["method"]!, path: item["path"]!, bodyFirstKey: item["bodyFirstKey"])
            let typeURI = map.targetTypeURI(serviceType: item["serviceType"], path: item["path"]!)
            #expect(action == answer["action"], "\(item)")
            #expect(typeURI == answer["typeURI"], "\(item)")
        }
    }
}
