// AuditTrail — CADF model
// SPDX-License-Identifier: Apache-2.0

/// RFC 6901 JSON Pointer tokens: `~` is written `~0` and `/` is written `~1`.
package enum JSONPointer {
    /// A token as written in a pointer.
    package static func escape(_ name: some StringProtocol) -> String {
        var result = ""
        for character in name {
            switch character {
            case "~": result += "~0"
            case "/": result += "~1"
            default: result.append(character)
            }
        }
        return result
    }

    /// The member name a pointer token stands for.
    package static func unescape(_ token: some StringProtocol) -> String {
        var result = ""
        var tilde = false
        for character in token {
            if tilde {
                result += character == "0" ? "~" : character == "1" ? "/" : "~\(character)"
                tilde = false
            } else if character == "~" {
                tilde = true
            } else {
                result.append(character)
            }
        }
        return tilde ? result + "~" : result
    }
}
