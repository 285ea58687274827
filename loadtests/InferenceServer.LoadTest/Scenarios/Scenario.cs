namespace InferenceServer.LoadTest.Scenarios;

/// <summary>One named scenario: flag names (without dashes) and their values.</summary>
internal sealed record Scenario(string Name, IReadOnlyDictionary<string, string> Settings);
