using System.Text.Json.Serialization;

namespace InferenceServer.Core.Drift;

/// <summary>The profile's and the drift report's JSON, generated at build time (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(TrainingProfile))]
[JsonSerializable(typeof(DriftReport))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
