namespace InferenceServer.LoadTest.Load;

/// <summary>One leg of a load profile: over <see cref="Duration"/> the level moves linearly from the previous leg's target to <see cref="Target"/>.</summary>
internal sealed record Stage(TimeSpan Duration, double Target);
