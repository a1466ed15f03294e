import Testing

@testable import PaperBench

@Suite struct DataTableTests {
    @Test func csvQuotesOnlyWhatNeedsIt() {
        let table = DataTable(header: ["mode", "note"], rows: [["paged", "a, b"], ["contiguous", "say \"hi\""], ["none", "plain"]])
        #expect(table.csv() == "mode,note\npaged,\"a, b\"\ncontiguous,\"say \"\"hi\"\"\"\nnone,plain\n")
    }

    @Test func markdownAlignsNumbersRightAndEscapesPipes() {
        let table = DataTable(header: ["mode", "ms"], rows: [["a|b", "1.5"], ["short"]])
        #expect(table.markdown() == "| mode | ms |\n| --- | ---: |\n| a\\|b | 1.5 |\n| short |  |\n")
    }

    @Test func percentilesInterpolateBetweenRanks() {
        let values = (1...100).map(Double.init)
        #expect(Statistics.percentile(values, 50) == 50.5)
        #expect(abs(Statistics.percentile(values, 99) - 99.01) < 1e-9)
        #expect(Statistics.percentile([], 50).isNaN)
        #expect(Statistics.gaps([1, 3, 6]) == [2, 3])
    }
}
