import Foundation

/// `value` with `digits` decimals, or `–` when it is not a number (a measurement that did not
/// happen), so tables never show `nan`.
func fixed(_ value: Double, _ digits: Int = 1) -> String {
    value.isFinite ? String(format: "%.\(digits)f", value) : "–"
}

/// `bytes` in MiB with one decimal.
func mebibytes(_ bytes: Int) -> String { fixed(Double(bytes) / 1_048_576) + " MiB" }

/// `bytes` as a MiB number (for tables whose header carries the unit).
func mib(_ bytes: Int) -> Double { Double(bytes) / 1_048_576 }

/// `count` with thousands separators: `17,408`.
func grouped(_ count: Int) -> String {
    let digits = String(abs(count))
    var out = ""
    for (index, digit) in digits.enumerated() {
        if index > 0 && (digits.count - index) % 3 == 0 { out += "," }
        out.append(digit)
    }
    return (count < 0 ? "-" : "") + out
}
