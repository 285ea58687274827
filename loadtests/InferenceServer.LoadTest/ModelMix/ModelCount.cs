namespace InferenceServer.LoadTest.ModelMix;

/// <summary>What one model of a multi-model run got in the measured phase: requests sent, answered, answered after a cold start, failed.</summary>
internal sealed record ModelCount(string Name, long Requests, long Successes, long ColdStarts, long Errors);
