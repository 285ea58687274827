namespace InferenceServer.Hosting;

/// <summary>What <c>inference-server profile</c> was asked: the repositories, the model, the training file, where to write, the batch size.</summary>
internal sealed record ProfileSettings(IReadOnlyList<string> Repositories, string Model, string From, string? Output, int BatchSize);
