namespace InferenceServer.FunctionalTests.Grpc;

/// <summary>The results of one run of a Python gRPC suite, with its progress log (stderr) for context.</summary>
internal sealed class GrpcSuiteResults(string suite, IReadOnlyDictionary<string, GrpcCaseResult> cases, string log)
{
    public IReadOnlyCollection<string> CaseNames => [.. cases.Keys];

    /// <summary>Fails unless the case ran and passed; the message is the Python failure.</summary>
    public void AssertPassed(string name)
    {
        if (!cases.TryGetValue(name, out var result))
        {
            Assert.Fail($"the Python suite '{suite}' has no case '{name}'; its cases: {string.Join(", ", cases.Keys)}\n{log}");
            return;
        }
        Assert.True(result.Passed, $"gRPC case '{name}' failed ({result.Seconds:0.###} s):\n{result.Failure}");
    }

    /// <summary>Fails unless <paramref name="listed"/> names exactly the suite's cases, so no case goes unreported.</summary>
    public void AssertListed(IEnumerable<string> listed)
    {
        var expected = listed.Order(StringComparer.Ordinal).ToList();
        var actual = cases.Keys.Order(StringComparer.Ordinal).ToList();
        Assert.True(expected.SequenceEqual(actual),
            $"the xunit list of suite '{suite}' and the Python suite differ; only in xunit: {string.Join(", ", expected.Except(actual))}; only in Python: {string.Join(", ", actual.Except(expected))}");
    }
}
