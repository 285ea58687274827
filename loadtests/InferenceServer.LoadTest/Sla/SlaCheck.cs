namespace InferenceServer.LoadTest.Sla;

/// <summary>An assertion checked against a run: the measured value (null when there was none), the verdict and a sentence saying by how much.</summary>
internal sealed record SlaCheck(SlaAssertion Assertion, double? Actual, bool Passed, string Detail);
