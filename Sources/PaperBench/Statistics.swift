import Foundation

/// The few summary statistics the experiments report.
public enum Statistics {
    /// The `p`-th percentile (0...100) by linear interpolation between closest ranks; nan when
    /// `values` is empty.
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.filter(\.isFinite).sorted()
        guard !sorted.isEmpty else { return .nan }
        let rank = p / 100 * Double(sorted.count - 1)
        let low = Int(rank.rounded(.down)), high = Int(rank.rounded(.up))
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - Double(low))
    }

    public static func median(_ values: [Double]) -> Double { percentile(values, 50) }

    /// The arithmetic mean; nan when `values` is empty.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count)
    }

    /// Differences between consecutive values (`times[i + 1] - times[i]`).
    public static func gaps(_ times: [Double]) -> [Double] {
        zip(times.dropFirst(), times).map { $0 - $1 }
    }
}
